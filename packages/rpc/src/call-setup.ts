import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import {
  PlexusError,
  systemClock,
  type Clock,
  type Logger,
  type RpcInterceptor,
} from "@plexus/core";
import type { HttpCallOptions } from "./http-call.ts";
import { createMethodTable, type MethodTable, type ServiceBinding } from "./method-table.ts";
import { readContextHeaders, type IncomingHeaders, type PropagatedContext } from "./propagation.ts";
import type { ServiceAuthenticator } from "./service-authenticator.ts";
import { serviceLogger } from "./service-logger.ts";

/** A request as both `node:http` and `node:http2` (compatibility API) deliver it. */
export type RpcRequest = IncomingMessage | Http2ServerRequest;
/** A response as both `node:http` and `node:http2` (compatibility API) deliver it. */
export type RpcResponse = ServerResponse | Http2ServerResponse;
/** A request listener for `http.createServer` and `http2.createServer` alike. */
export type RpcRequestListener = (req: RpcRequest, res: RpcResponse) => void;

/** What the RPC port serves, and how; the same for every protocol on it. */
export interface RpcHandlerOptions {
  /** The services to serve. Each unary method is routed at `POST /<package.Service>/<Method>`. */
  services: readonly ServiceBinding[];
  /**
   * Server-side interceptors around every handler, first listed runs outermost (auth, concurrency
   * limits, metrics). Default: none.
   */
  interceptors?: readonly RpcInterceptor[];
  /** Time source for deadlines. Default: `systemClock`; tests inject a fake one. */
  clock?: Clock;
  /**
   * Where unexpected handler failures are logged (with their cause, which never reaches the
   * client). Default: not logged.
   */
  logger?: Logger;
  /**
   * Largest request message accepted, in bytes (after decompression). Default 4 MiB, like
   * Connect's and gRPC's own servers: a bound on the memory one call can pin; larger messages get
   * `resource_exhausted`.
   */
  maxBodyBytes?: number;
  /**
   * The name of the service (or host) answering, stamped on its log lines so per-(caller, callee)
   * bookkeeping can pair it with the caller's `x-plexus-caller`. Default: none.
   */
  serviceName?: string;
  /**
   * Called for Connect paths that are no RPC method (health checks, metrics on the same port).
   * Default: none, such paths get a Connect `unimplemented` error with HTTP 404.
   */
  fallback?: RpcRequestListener;
  /**
   * Verifies the calling service's token (`createServiceAuthenticator`, ADR 13): a call without
   * a valid one is answered `unauthenticated` before anything else is read, and the caller the
   * handler sees is the token's, not `x-plexus-caller`. Default: none, every caller and its
   * principal headers are trusted (only for a server no one else can reach).
   */
  authenticator?: ServiceAuthenticator;
}

/** The options with their defaults applied, built once per port and shared by its protocols. */
export interface CallSetup {
  readonly table: MethodTable;
  readonly clock: Clock;
  readonly callOptions: HttpCallOptions;
  readonly authenticator: ServiceAuthenticator | undefined;
  readonly fallback: RpcRequestListener | undefined;
}

const defaultMaxBodyBytes = 4 * 1024 * 1024;

export function createCallSetup(options: RpcHandlerOptions): CallSetup {
  const clock = options.clock ?? systemClock;
  return {
    // One table, so each method's interceptor chain is composed once for every protocol.
    table: createMethodTable(options.services, options.interceptors ?? []),
    clock,
    callOptions: {
      clock,
      logger: serviceLogger(options.logger, options.serviceName),
      maxBodyBytes: options.maxBodyBytes ?? defaultMaxBodyBytes,
    },
    authenticator: options.authenticator,
    fallback: options.fallback,
  };
}

/** The context of a call whose metadata is malformed: it is refused, nothing is taken from it. */
export const noContext: PropagatedContext = {
  correlationId: undefined,
  trace: undefined,
  principal: undefined,
  idempotencyKey: undefined,
  caller: undefined,
};

/**
 * The caller's context from a request's metadata, with the authenticated `caller` (if any) in
 * place of the claimed one; a malformed value makes the call `invalid` and the context empty.
 */
export function propagatedContext(
  headers: IncomingHeaders,
  caller: string | undefined,
): PropagatedContext | PlexusError {
  const propagated = readContextHeaders(headers);
  if (propagated instanceof PlexusError) return propagated;
  return caller === undefined ? propagated : { ...propagated, caller };
}
