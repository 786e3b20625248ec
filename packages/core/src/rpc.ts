import type {
  DescMessage,
  DescMethod,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import type { CallContext } from "./context.ts";
import type { CallHandler, Interceptor } from "./interceptor.ts";
import type { TraceParent } from "./ids.ts";

/*
 * The metadata names the pipeline itself reads or writes on `UnaryRequest.header`: the client's
 * resilience interceptors as well as every transport, so they live below both. Each transport
 * carries metadata as its protocol does; the names are the same on every protocol.
 */

/** `Idempotency-Key`: the header a call's idempotency key travels in. */
export const headerIdempotencyKey = "idempotency-key";
/** How many attempts came before this one (gRPC's `grpc-previous-rpc-attempts`). */
export const headerPreviousAttempts = "x-plexus-previous-attempts";

/** One unary call as the pipeline sees it, on either side of the wire. */
export interface UnaryRequest<I extends DescMessage = DescMessage> {
  readonly method: DescMethod;
  readonly message: MessageShape<I>;
  /** Outgoing (client) or incoming (server) metadata; propagation headers live here. */
  readonly header: Headers;
  /** The call's scope: its deadline and cancellation (`context.signal`) travel here only. */
  readonly context: CallContext;
  /**
   * Server side: the caller's span as its `traceparent` named it, parsed once by the server
   * (`undefined` when the caller sent none or a malformed one), so server interceptors need not
   * build `header` to read it. Absent on the client side.
   */
  readonly parentTrace?: TraceParent | undefined;
}

export interface UnaryResponse<O extends DescMessage = DescMessage> {
  readonly message: MessageShape<O>;
  readonly header: Headers;
}

/** An RPC boundary's handler: one unary call, client or server side. */
export type UnaryFn = CallHandler<UnaryRequest, UnaryResponse>;

/** An interceptor of unary RPC calls (see `interceptor.ts`: the one hook shape). */
export type RpcInterceptor = Interceptor<UnaryRequest, UnaryResponse>;

/** Carries one call from a client to a service: in-process, or over the network. */
export interface Transport {
  unary(request: UnaryRequest): Promise<UnaryResponse>;
}

/** Per-call options of a typed client. */
export interface CallOptions {
  /** Aborts the call (besides the current context's signal, which always does). */
  signal?: AbortSignal;
  /** Timeout of this call in ms; the effective deadline is the earlier of it and the context's. */
  timeoutMs?: number;
  /** Extra metadata to send. */
  headers?: Headers | Record<string, string>;
  /** Idempotency key for a non-idempotent method, so retries and replays have one effect. */
  idempotencyKey?: string;
}

type UnaryMethods<S extends DescService> = {
  [
    K in keyof S["method"] as S["method"][K] extends { methodKind: "unary" } ? K : never
  ]: S["method"][K];
};

/** A typed client of a contract: one async function per unary RPC. */
export type Client<S extends DescService> = {
  [K in keyof UnaryMethods<S>]: UnaryMethods<S>[K] extends {
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? (request: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>>
    : never;
};

/** What a handler sees besides its request: the call's context and incoming metadata. */
export interface HandlerContext {
  readonly context: CallContext;
  readonly header: Headers;
  /** The call's cancellation: `context.signal`, never undefined. */
  readonly signal: AbortSignal;
}

/** The implementation of a contract: one async function per unary RPC. */
export type ServiceHandlers<S extends DescService> = {
  [K in keyof UnaryMethods<S>]: UnaryMethods<S>[K] extends {
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? (request: MessageShape<I>, ctx: HandlerContext) => Promise<MessageInitShape<O>>
    : never;
};
