import {
  create,
  type DescMethod,
  type DescService,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import {
  chainInterceptors,
  childTraceparent,
  currentContext,
  earliestDeadline,
  newCorrelationId,
  newRequestId,
  PlexusError,
  runInContext,
  systemClock,
  type CallContext,
  type CallOptions,
  type Client,
  type Clock,
  type RpcInterceptor,
  type Transport,
  type UnaryFn,
  type UnaryRequest,
} from "@plexus/core";
import { abortReason, deadlineExceeded, neverAborted } from "./abort.ts";
import { CallSignal } from "./call-signal.ts";

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
 * message init shape and resolving to the response message. Each call runs in a context derived
 * from the current one (same correlation id and principal, a child span, the earliest of the
 * context's deadline and `timeoutMs`); a call already past its deadline fails fast with
 * `DeadlineExceeded` without touching the transport; the caller's signal, the parent call's
 * signal and the deadline all abort the call in flight.
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
    const now = clock.now();
    const parent = currentContext();
    const timeoutMs = callOptions?.timeoutMs;
    const deadline = earliestDeadline(
      parent?.deadline,
      timeoutMs === undefined ? undefined : now + timeoutMs,
    );
    if (deadline !== undefined && deadline <= now) throw deadlineExceeded();
    const callerSignal = callOptions?.signal;
    const parentSignal = parent?.signal;
    if (callerSignal?.aborted) throw abortReason(callerSignal);
    if (parentSignal?.aborted) throw abortReason(parentSignal);

    let signal: AbortSignal;
    let linked: CallSignal | undefined;
    if (deadline === undefined && (callerSignal === undefined || parentSignal === undefined)) {
      // The common case without a deadline needs no controller, no timer, no listener.
      signal = callerSignal ?? parentSignal ?? neverAborted;
    } else {
      const sources: AbortSignal[] = [];
      if (callerSignal !== undefined) sources.push(callerSignal);
      if (parentSignal !== undefined) sources.push(parentSignal);
      linked = new CallSignal(clock, deadline === undefined ? undefined : deadline - now, sources);
      signal = linked.controller.signal;
    }

    const context: CallContext = {
      correlationId: parent?.correlationId ?? newCorrelationId(),
      requestId: parent?.requestId ?? newRequestId(),
      trace: childTraceparent(parent?.trace),
      deadline,
      principal: parent?.principal,
      idempotencyKey: callOptions?.idempotencyKey,
      caller,
      signal,
    };
    const request: UnaryRequest = {
      method,
      message: create(method.input, input),
      header: new Headers(callOptions?.headers),
      context,
      signal,
    };
    try {
      const response = await runInContext(context, () => next(request));
      return response.message;
    } catch (error) {
      if (error instanceof PlexusError) throw error;
      if (signal.aborted) throw abortReason(signal);
      throw PlexusError.from(error);
    } finally {
      linked?.release();
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
