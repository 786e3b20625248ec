import type { Clock } from "@plexus/core";
import { exponentialBackoff } from "./backoff.ts";
import type { BulkheadOptions } from "./bulkhead.ts";
import type { CircuitBreakerOptions } from "./circuit-breaker.ts";
import type { CircuitState } from "./circuit-state-machine.ts";
import type { HedgingOptions } from "./hedging.ts";
import { growingOpenWait } from "./open-wait.ts";
import type { RateLimiterOptions } from "./rate-limiter.ts";
import type { RetryOptions } from "./retry.ts";
import type { RetryBudgetOptions } from "./retry-budget.ts";

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
  /**
   * Per-try timeout in ms (the call's own deadline still bounds the whole call). One given here
   * is a budget the callee is told (the attempt's `context.deadline`); the built-in default is
   * a safety net only (see {@link defaultCalleePolicies}).
   */
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
 * - per-try timeout: 10 s, a safety net so no attempt hangs forever (set tighter per method):
 *   it tightens the deadline a call has, but gives none to a call without one (ADR 8);
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

export function merge<T extends object>(
  base: T | false | undefined,
  over: T | false | undefined,
): T | false {
  if (over === false) return false;
  if (over === undefined) return base ?? false;
  if (base === false || base === undefined) return over;
  return { ...base, ...over };
}

/** A callee's policies other than the per-try timeout: built-ins, defaults and its own merged. */
export type CalleePolicies = Required<Omit<CalleePolicyOptions, "perTryTimeoutMs">>;

export function calleePolicies(options: ClientResilienceOptions, callee: string): CalleePolicies {
  const own = options.callees?.[callee] ?? {};
  const defaults = options.defaults ?? {};
  const merged: Record<string, unknown> = {};
  for (const key of Object.keys(defaultCalleePolicies) as (keyof CalleePolicies)[]) {
    if ((key as keyof CalleePolicyOptions) === "perTryTimeoutMs") continue;
    const builtIn: object | false = defaultCalleePolicies[key];
    merged[key] = merge(merge(builtIn, defaults[key]), own[key]);
  }
  return merged as CalleePolicies;
}

/** A method's per-try timeout, and whether it was configured (else it is the safety net). */
export interface PerTryTimeout {
  readonly timeoutMs: number | false;
  readonly configured: boolean;
}

export function perTryTimeoutOf(
  options: ClientResilienceOptions,
  callee: string,
  method: string,
): PerTryTimeout {
  const own = options.callees?.[callee];
  const configured =
    own?.methods?.[method]?.perTryTimeoutMs ??
    own?.perTryTimeoutMs ??
    options.defaults?.perTryTimeoutMs;
  return configured === undefined
    ? { timeoutMs: defaultCalleePolicies.perTryTimeoutMs, configured: false }
    : { timeoutMs: configured, configured: true };
}
