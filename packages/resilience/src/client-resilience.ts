import {
  headerIdempotencyKey,
  headerPreviousAttempts,
  systemClock,
  type CallContext,
  type Clock,
  type Interceptor,
  type UnaryFn,
  type UnaryRequest,
  type UnaryResponse,
} from "@plexus/core";
import { exponentialBackoff } from "./backoff.ts";
import { createBulkhead, type BulkheadOptions } from "./bulkhead.ts";
import {
  createCircuitBreaker,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitMetrics,
} from "./circuit-breaker.ts";
import type { CircuitState } from "./circuit-state-machine.ts";
import { growingOpenWait } from "./open-wait.ts";
import { createHedgingPolicy, type HedgingOptions } from "./hedging.ts";
import { createPipeline } from "./pipeline.ts";
import type { ExecuteOptions, Operation, Policy, PolicyContext } from "./policy.ts";
import { createRateLimiter, type RateLimiterOptions } from "./rate-limiter.ts";
import { createRetryPolicy, type RetryOptions } from "./retry.ts";
import { createRetryBudget, type RetryBudget, type RetryBudgetOptions } from "./retry-budget.ts";
import { createTimeout } from "./timeout.ts";

type OwnRetryOptions = Omit<RetryOptions, "budget" | "clock" | "random" | "onRetry" | "onGiveUp">;
type OwnHedgingOptions = Omit<HedgingOptions, "budget" | "clock" | "onHedge" | "onRefused">;

/** The policies of one callee (or the defaults of all). `false` turns one off. */
export interface CalleePolicyOptions {
  /** The callee's circuit breaker, shared by all its methods. */
  circuitBreaker?: Omit<CircuitBreakerOptions, "clock" | "onStateChange" | "onReject"> | false;
  /** The callee's bulkhead, shared by all its methods (per attempt). */
  bulkhead?: Omit<BulkheadOptions, "clock" | "onReject"> | false;
  /** A client-side rate limit on calls to the callee. */
  rateLimiter?: Omit<RateLimiterOptions, "clock" | "onReject"> | false;
  /** The callee's retry budget, shared by all its methods' retries and hedges. */
  retryBudget?: RetryBudgetOptions | false;
  /** Retry of idempotent methods and of calls carrying an idempotency key. */
  retry?: OwnRetryOptions | false;
  /** Hedging, for idempotent methods only; replaces retry where set. */
  hedging?: OwnHedgingOptions | false;
  /** Per-try timeout in ms (the call's own deadline still bounds the whole call). */
  perTryTimeoutMs?: number | false;
}

/** Per-method overrides: the policies that are not shared state. */
export type MethodPolicyOptions = Pick<
  CalleePolicyOptions,
  "retry" | "hedging" | "perTryTimeoutMs"
>;

export interface CalleeOptions extends CalleePolicyOptions {
  /** Overrides by method name as in the contract (`GetProduct`). */
  methods?: Readonly<Record<string, MethodPolicyOptions>>;
}

/** Who the events are about. */
export interface CallTarget {
  /** The callee: the service's fully-qualified name (`shop.catalog.v1.CatalogService`). */
  readonly callee: string;
  /** The method name (`GetProduct`). */
  readonly method: string;
}

export type RejectingPolicy = "circuit-breaker" | "bulkhead" | "rate-limiter" | "retry" | "hedging";

export interface ResilienceRejectEvent {
  readonly callee: string;
  /** The method, when the refusing policy is per method (retry, hedging). */
  readonly method: string | undefined;
  readonly policy: RejectingPolicy;
  /** What was refused: e.g. `open`, `bulkhead-full`, `throttled`, `concurrency`, `deadline`. */
  readonly reason: string;
}

export interface ClientResilienceOptions {
  /**
   * Policies of every callee, over Plexus's defaults (see {@link defaultCalleePolicies}); a
   * field given here replaces that policy's defaults field by field, `false` turns it off.
   */
  defaults?: CalleePolicyOptions;
  /** Per-callee policies, by fully-qualified service name, over `defaults`. */
  callees?: Readonly<Record<string, CalleeOptions>>;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
  /** Random source for jitter. Default `Math.random`. */
  random?: () => number;
  /** Before every retry or hedge (a metric, a span event). */
  onRetry?: (event: CallTarget & { attempt: number; delayMs: number; hedge: boolean }) => void;
  /** Every call or retry a policy refused (open circuit, full bulkhead, budget, rate limit). */
  onReject?: (event: ResilienceRejectEvent) => void;
  /** Every circuit state change (a span event, a log line; gauges read `snapshot()` instead). */
  onStateChange?: (event: { callee: string; from: CircuitState; to: CircuitState }) => void;
}

/**
 * Plexus's default client pipeline (DESIGN.md "Pipeline"), tuned for RPC between services
 * rather than Resilience4j's general defaults:
 * - retry: 3 attempts, full-jitter exponential backoff 50 ms .. 1 s (an interactive call has
 *   no time for longer waits; the deadline cuts them anyway);
 * - retry budget: gRPC throttling 10 tokens / 0.1 per success, Envoy 20 % with a floor of 3;
 * - circuit breaker: time window of 10 s in 1 s buckets, 20 calls at least, opens at 50 %
 *   failures or 100 % of calls slower than 5 s; open 5 s, doubling per reopening up to 60 s;
 *   5 trial calls, at most 10 s half-open;
 * - bulkhead: 256 concurrent attempts, 256 queued for at most 1 s;
 * - per-try timeout: 10 s, a safety net so no attempt hangs forever (set tighter per method);
 * - no hedging and no rate limit unless configured.
 */
export const defaultCalleePolicies: Readonly<Required<CalleePolicyOptions>> = {
  retry: { maxAttempts: 3, backoff: exponentialBackoff({ initialMs: 50, maxMs: 1_000 }) },
  retryBudget: { maxTokens: 10, tokenRatio: 0.1, budgetPercent: 20, minRetryConcurrency: 3 },
  circuitBreaker: {
    slidingWindow: { type: "time", sizeMs: 10_000, bucketMs: 1_000 },
    minimumNumberOfCalls: 20,
    failureRateThreshold: 50,
    slowCallRateThreshold: 100,
    slowCallDurationThresholdMs: 5_000,
    openWaitMs: growingOpenWait({ initialMs: 5_000, multiplier: 2, maxMs: 60_000 }),
    permittedCallsInHalfOpen: 5,
    maxWaitInHalfOpenMs: 10_000,
  },
  bulkhead: { maxConcurrent: 256, maxQueue: 256, queueTimeoutMs: 1_000 },
  perTryTimeoutMs: 10_000,
  hedging: false,
  rateLimiter: false,
};

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
  readonly interceptors: Interceptor[];
  /**
   * Runs any outgoing call (an HTTP request to an upstream, say) through the callee's
   * pipeline; throw a PlexusError from `fn` for failures (see `httpStatusError`).
   */
  execute<T>(call: CallDescriptor, fn: Operation<T>, options?: ExecuteOptions): Promise<T>;
  /** The callee's circuit breaker, once a call created it. */
  circuitBreaker(callee: string): CircuitBreaker | undefined;
  snapshot(): CalleeSnapshot[];
}

interface CalleeState {
  readonly name: string;
  readonly options: CalleeOptions;
  /** Its policies, built-ins, defaults and own options merged. */
  readonly policies: Required<CalleePolicyOptions>;
  readonly breaker: CircuitBreaker | undefined;
  readonly bulkhead: Policy | undefined;
  readonly limiter: Policy | undefined;
  readonly budget: RetryBudget | undefined;
  readonly methods: Map<string, MethodPipelines>;
}

/** The three pipelines of a method; which one a call takes depends on its idempotency. */
interface MethodPipelines {
  /** Idempotent calls: hedging if configured, else retry. */
  readonly idempotent: Policy;
  /** Non-idempotent calls with an idempotency key: retry, never hedging. */
  readonly keyed: Policy;
  /** Non-idempotent calls without a key: one attempt (still budgeted and measured). */
  readonly single: Policy;
}

function merge<T extends object>(
  base: T | false | undefined,
  over: T | false | undefined,
): T | false {
  if (over === false) return false;
  if (over === undefined) return base ?? false;
  if (base === false || base === undefined) return over;
  return { ...base, ...over };
}

/**
 * Sends one attempt: the request as it came for a first attempt that changes nothing, else a
 * copy with the attempt's signal and deadline (so the transport sends the per-try deadline)
 * and, on a retry or hedge, how many attempts came before.
 */
function sendAttempt(
  next: UnaryFn,
  request: UnaryRequest,
  signal: AbortSignal,
  context: PolicyContext,
): Promise<UnaryResponse> {
  if (
    context.attempt === 1 &&
    signal === request.signal &&
    context.deadline === request.context.deadline
  ) {
    return next(request);
  }
  const callContext: CallContext = { ...request.context, deadline: context.deadline, signal };
  let header = request.header;
  if (context.attempt > 1) {
    header = new Headers(header);
    header.set(headerPreviousAttempts, String(context.attempt - 1));
  }
  return next({ ...request, header, context: callContext, signal });
}

/**
 * Creates the per-callee resilience state and the client interceptors that apply it: per
 * callee (keyed by `request.method.parent.typeName`) a circuit breaker, a bulkhead, a retry
 * budget and an optional rate limiter; per method a retry or hedging policy and a per-try
 * timeout, in {@link createPipeline}'s order. A method declared `NO_SIDE_EFFECTS` or
 * `IDEMPOTENT` is retried (and hedged, if configured); any other is retried only when the call
 * carries an idempotency key (`CallOptions.idempotencyKey` or an `idempotency-key` header).
 * Each attempt carries a tightened `context.deadline` and its own signal, so the transport
 * sends the per-try deadline (`connect-timeout-ms`) and the callee stops with it.
 *
 * @example
 * const resilience = createClientResilience({
 *   callees: { "shop.payments.v1.PaymentsService": { methods: { Charge: { perTryTimeoutMs: 2_000 } } } },
 *   onStateChange: ({ callee, from, to }) => logger.info({ callee, from, to }, "circuit"),
 * });
 * const payments = createClient(PaymentsService, transport, { interceptors: resilience.interceptors });
 */
export function createClientResilience(options: ClientResilienceOptions = {}): ClientResilience {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const { onRetry, onReject, onStateChange } = options;
  const callees = new Map<string, CalleeState>();

  function policiesOf(callee: string): Required<CalleePolicyOptions> {
    const own = options.callees?.[callee] ?? {};
    const defaults = options.defaults ?? {};
    const keys = Object.keys(defaultCalleePolicies) as (keyof CalleePolicyOptions)[];
    const merged: Record<string, unknown> = {};
    for (const key of keys) {
      const builtIn = defaultCalleePolicies[key];
      if (key === "perTryTimeoutMs") {
        merged[key] = own[key] ?? defaults[key] ?? builtIn;
        continue;
      }
      merged[key] = merge(merge(builtIn as object | false, defaults[key]), own[key]);
    }
    return merged as Required<CalleePolicyOptions>;
  }

  function calleeState(name: string): CalleeState {
    let state = callees.get(name);
    if (state !== undefined) return state;
    const policies = policiesOf(name);
    const breaker =
      policies.circuitBreaker === false
        ? undefined
        : createCircuitBreaker({
            ...policies.circuitBreaker,
            clock,
            onStateChange: ({ from, to }) => onStateChange?.({ callee: name, from, to }),
            onReject: ({ state: s }) =>
              onReject?.({ callee: name, method: undefined, policy: "circuit-breaker", reason: s }),
          });
    const bulkhead =
      policies.bulkhead === false
        ? undefined
        : createBulkhead({
            ...policies.bulkhead,
            clock,
            onReject: ({ kind }) =>
              onReject?.({ callee: name, method: undefined, policy: "bulkhead", reason: kind }),
          });
    const limiter =
      policies.rateLimiter === false
        ? undefined
        : createRateLimiter({
            ...policies.rateLimiter,
            clock,
            onReject: () =>
              onReject?.({
                callee: name,
                method: undefined,
                policy: "rate-limiter",
                reason: "rate-limited",
              }),
          });
    const budget =
      policies.retryBudget === false ? undefined : createRetryBudget(policies.retryBudget);
    state = {
      name,
      options: options.callees?.[name] ?? {},
      policies,
      breaker,
      bulkhead,
      limiter,
      budget,
      methods: new Map(),
    };
    callees.set(name, state);
    return state;
  }

  function methodPipelines(callee: CalleeState, method: string): MethodPipelines {
    let found = callee.methods.get(method);
    if (found !== undefined) return found;
    const calleePolicies = callee.policies;
    const own = callee.options.methods?.[method] ?? {};
    const retryOptions = merge(calleePolicies.retry, own.retry);
    const hedgingOptions = merge(calleePolicies.hedging, own.hedging);
    const perTry =
      own.perTryTimeoutMs !== undefined ? own.perTryTimeoutMs : calleePolicies.perTryTimeoutMs;
    const target = { callee: callee.name, method };
    const { budget } = callee;
    const giveUp =
      (policy: RejectingPolicy) =>
      ({ reason }: { reason: string }) => {
        // Running out of attempts is the retry doing its job, not a refusal.
        if (reason !== "max-attempts") onReject?.({ ...target, policy, reason });
      };
    const retry = (maxAttempts: number | undefined): Policy =>
      createRetryPolicy({
        ...(retryOptions === false ? {} : retryOptions),
        ...(retryOptions === false || maxAttempts !== undefined
          ? { maxAttempts: maxAttempts ?? 1 }
          : {}),
        budget,
        clock,
        random,
        onRetry: ({ attempt, delayMs }) => onRetry?.({ ...target, attempt, delayMs, hedge: false }),
        onGiveUp: giveUp("retry"),
      });
    const hedging =
      hedgingOptions === false
        ? undefined
        : createHedgingPolicy({
            ...hedgingOptions,
            budget,
            clock,
            onHedge: ({ attempt }) => onRetry?.({ ...target, attempt, delayMs: 0, hedge: true }),
            onRefused: giveUp("hedging"),
          });
    const timeout =
      perTry === false || perTry === undefined
        ? undefined
        : createTimeout({ timeoutMs: perTry, clock, strategy: "aggressive" });
    const shared = {
      clock,
      rateLimiter: callee.limiter,
      bulkhead: callee.bulkhead,
      circuitBreaker: callee.breaker,
      timeout,
    };
    const retrying = retry(undefined);
    found = {
      idempotent: createPipeline(
        hedging !== undefined ? { ...shared, hedging } : { ...shared, retry: retrying },
      ),
      keyed: createPipeline({ ...shared, retry: retrying }),
      single: createPipeline({ ...shared, retry: retry(1) }),
    };
    callee.methods.set(method, found);
    return found;
  }

  function pipelineFor(call: CallDescriptor): Policy {
    const pipelines = methodPipelines(calleeState(call.callee), call.method);
    if (call.idempotent) return pipelines.idempotent;
    return call.idempotencyKey !== undefined ? pipelines.keyed : pipelines.single;
  }

  const resilienceInterceptor: Interceptor = (next) =>
    function resilience(request) {
      const { method } = request;
      const callee = calleeState(method.parent.typeName);
      const pipelines = methodPipelines(callee, method.name);
      // protobuf idempotency_level: 1 NO_SIDE_EFFECTS, 2 IDEMPOTENT (0 is unknown).
      const policy =
        (method.idempotency as number) !== 0
          ? pipelines.idempotent
          : request.context.idempotencyKey !== undefined || request.header.has(headerIdempotencyKey)
            ? pipelines.keyed
            : pipelines.single;
      const send: Operation<UnaryResponse> = (signal, context) =>
        sendAttempt(next, request, signal, context);
      return policy.execute(send, {
        signal: request.signal,
        deadline: request.context.deadline,
      });
    };

  return {
    interceptors: [resilienceInterceptor],
    execute<T>(call: CallDescriptor, fn: Operation<T>, execOptions?: ExecuteOptions): Promise<T> {
      return pipelineFor(call).execute(fn, execOptions);
    },
    circuitBreaker(callee) {
      return callees.get(callee)?.breaker;
    },
    snapshot() {
      return [...callees.values()].map((state) => ({
        callee: state.name,
        circuit: state.breaker?.metrics(),
        retryTokens: state.budget?.tokens,
        activeRequests: state.budget?.activeRequests,
        activeRetries: state.budget?.activeRetries,
      }));
    },
    [Symbol.dispose]() {
      for (const state of callees.values()) state.breaker?.[Symbol.dispose]();
    },
  };
}

/** The client interceptors of {@link createClientResilience}, for hosts that need nothing else. */
export function createResilienceInterceptors(options: ClientResilienceOptions = {}): Interceptor[] {
  return createClientResilience(options).interceptors;
}
