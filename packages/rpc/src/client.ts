import {
  create,
  type DescMethod,
  type DescService,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import {
  chainInterceptors,
  childScope,
  currentContext,
  PlexusError,
  runInContext,
  systemClock,
  type CallOptions,
  type Client,
  type Clock,
  type RpcInterceptor,
  type Transport,
  type UnaryFn,
  type UnaryRequest,
} from "@plexus/core";
import { abortReason } from "./abort.ts";

export interface ClientOptions {
  /**
   * Client-side interceptors around every call, first listed runs outermost (retry, circuit
   * breaker, metrics). Default: none.
   */
  interceptors?: readonly RpcInterceptor[];
  /**
   * The calling service's name, sent as `x-plexus-caller` for per-(caller, callee) metrics.
   * Default: none (the callee sees an anonymous caller).
   */
  caller?: string;
  /** Time source for deadlines. Default: `systemClock`; tests inject a fake one. */
  clock?: Clock;
}

/**
 * A typed client of a contract: one async function per unary method, taking the request as a
 * message init shape and resolving to the response message. Each call runs in a scope derived
 * from the current context by core's `childScope` (same correlation id, principal and
 * idempotency key, a child span, the earliest of the context's deadline and `timeoutMs`); a call
 * already past its deadline fails fast with `DeadlineExceeded` without touching the transport;
 * the caller's signal, the parent call's signal and the deadline all abort the call in flight.
 *
 * @example
 * const users = createClient(UsersService, transport, { caller: "orders" });
 * const { user } = await users.getUser({ id }, { timeoutMs: 500 });
 */
export function createClient<S extends DescService>(
  contract: S,
  transport: Transport,
  options: ClientOptions = {},
): Client<S> {
  const clock = options.clock ?? systemClock;
  const caller = options.caller;
  const next: UnaryFn = chainInterceptors(
    options.interceptors ?? [],
    function sendThroughTransport(request) {
      return transport.unary(request);
    },
  );

  async function call(
    method: DescMethod,
    input: MessageInitShape<DescMethod["input"]>,
    callOptions: CallOptions | undefined,
  ) {
    // The one derivation (and check) of a call's deadline and cancellation: core's call scope.
    const context = childScope(currentContext(), {
      timeoutMs: callOptions?.timeoutMs,
      signal: callOptions?.signal,
      idempotencyKey: callOptions?.idempotencyKey,
      caller,
      clock,
    });
    const request: UnaryRequest = {
      method,
      message: create(method.input, input),
      header: new Headers(callOptions?.headers),
      context,
    };
    try {
      const response = await runInContext(context, () => next(request));
      return response.message;
    } catch (error) {
      if (error instanceof PlexusError) throw error;
      if (context.signal.aborted) throw abortReason(context.signal);
      throw PlexusError.from(error);
    } finally {
      context.release();
    }
  }

  const client: Record<string, unknown> = {};
  for (const method of contract.methods) {
    if (method.methodKind !== "unary") continue;
    client[method.localName] = function unaryCall(
      input: MessageInitShape<DescMethod["input"]>,
      callOptions?: CallOptions,
    ) {
      return call(method, input, callOptions);
    };
  }
  return client as Client<S>;
}
