import {
  headerIdempotencyKey,
  neverAborted,
  type RpcInterceptor,
  type UnaryResponse,
} from "@plexus/core";
import type { ClientResilienceOptions, CallTarget } from "./callee-policies.ts";
import { CalleePipelines } from "./callee-pipelines.ts";
import type { CircuitBreaker, CircuitMetrics } from "./circuit-breaker.ts";
import {
  firstAttempt,
  type AttemptHandler,
  type ExecuteOptions,
  type Operation,
} from "./policy.ts";
import { sendAttempt } from "./send-attempt.ts";

/** How one outgoing call is described to {@link ClientResilience.execute}. */
export interface CallDescriptor extends CallTarget {
  /**
   * Whether the operation may run more than once with one effect (protobuf `NO_SIDE_EFFECTS`
   * or `IDEMPOTENT`, HTTP GET/PUT/DELETE). Only these are hedged.
   */
  readonly idempotent: boolean;
  /** An idempotency key makes a non-idempotent call retryable (never hedged). */
  readonly idempotencyKey?: string | undefined;
}

/** A snapshot of one callee's shared policy state, for the admin API and the dashboard. */
export interface CalleeSnapshot {
  readonly callee: string;
  readonly circuit: CircuitMetrics | undefined;
  readonly retryTokens: number | undefined;
  readonly activeRequests: number | undefined;
  readonly activeRetries: number | undefined;
}

export interface ClientResilience extends Disposable {
  /** The interceptors for `createClient(..., { interceptors })`, in pipeline order. */
  readonly interceptors: RpcInterceptor[];
  /**
   * Runs any outgoing call (an HTTP request to an upstream, say) through the callee's
   * pipeline; throw a PlexusError from `fn` for failures (`@plexus/rpc`'s `httpStatusError` for an HTTP status).
   */
  execute<T>(call: CallDescriptor, fn: Operation<T>, options?: ExecuteOptions): Promise<T>;
  /** The callee's circuit breaker, once a call created it. */
  circuitBreaker(callee: string): CircuitBreaker | undefined;
  snapshot(): CalleeSnapshot[];
}

/**
 * Creates the per-callee resilience state and the client interceptors that apply it: per
 * callee (keyed by `request.method.parent.typeName`) a circuit breaker, a bulkhead, a retry
 * budget and an optional rate limiter; per method a retry or hedging policy and a per-try
 * timeout, in {@link createPipeline}'s order. A method declared `NO_SIDE_EFFECTS` or
 * `IDEMPOTENT` is retried (and hedged, if configured); any other is retried only when the call
 * carries an idempotency key (`CallOptions.idempotencyKey` or an `idempotency-key` header).
 * Each attempt carries its own signal and, when the call has a deadline or the method a
 * configured per-try timeout, the tightened `context.deadline`, so the transport sends it
 * (`connect-timeout-ms`) and the callee stops with it. The built-in 10 s safety net gives a
 * call without a deadline none: it is enforced here only (ADR 8).
 *
 * @example
 * const resilience = createClientResilience({
 *   callees: { "shop.payments.v1.PaymentsService": { methods: { Charge: { perTryTimeoutMs: 2_000 } } } },
 *   onStateChange: ({ callee, from, to }) => logger.info({ callee, from, to }, "circuit"),
 * });
 * const payments = createClient(PaymentsService, transport, { interceptors: resilience.interceptors });
 */
export function createClientResilience(options: ClientResilienceOptions = {}): ClientResilience {
  const callees = new CalleePipelines(options);

  function pipelineFor(call: CallDescriptor): AttemptHandler {
    const pipelines = callees.method(callees.callee(call.callee), call.method);
    if (call.idempotent) return pipelines.idempotent;
    return call.idempotencyKey !== undefined ? pipelines.keyed : pipelines.single;
  }

  const resilienceInterceptor: RpcInterceptor = (next) =>
    function resilience(request) {
      const { method } = request;
      const pipelines = callees.method(callees.callee(method.parent.typeName), method.name);
      // protobuf idempotency_level: 1 NO_SIDE_EFFECTS, 2 IDEMPOTENT (0 is unknown).
      const pipeline =
        (method.idempotency as number) !== 0
          ? pipelines.idempotent
          : request.context.idempotencyKey !== undefined || request.header.has(headerIdempotencyKey)
            ? pipelines.keyed
            : pipelines.single;
      const send: Operation<UnaryResponse> = (signal, context) =>
        sendAttempt(next, request, signal, context);
      const { context } = request;
      return pipeline({
        operation: send,
        signal: context.signal ?? neverAborted,
        deadline: context.deadline,
        attempt: 1,
      }) as Promise<UnaryResponse>;
    };

  return {
    interceptors: [resilienceInterceptor],
    execute<T>(call: CallDescriptor, fn: Operation<T>, execOptions?: ExecuteOptions): Promise<T> {
      return pipelineFor(call)(firstAttempt(fn, execOptions)) as Promise<T>;
    },
    circuitBreaker(callee) {
      return callees.existing(callee)?.breaker;
    },
    snapshot() {
      return [...callees.all()].map((state) => ({
        callee: state.name,
        circuit: state.breaker?.metrics(),
        retryTokens: state.budget?.tokens,
        activeRequests: state.budget?.activeRequests,
        activeRetries: state.budget?.activeRetries,
      }));
    },
    [Symbol.dispose]() {
      for (const state of callees.all()) state.breaker?.[Symbol.dispose]();
    },
  };
}

/** The client interceptors of {@link createClientResilience}, for hosts that need nothing else. */
export function createResilienceInterceptors(
  options: ClientResilienceOptions = {},
): RpcInterceptor[] {
  return createClientResilience(options).interceptors;
}
