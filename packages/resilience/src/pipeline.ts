import { chainInterceptors, type Clock } from "@plexus/core";
import { attemptGuard } from "./attempt-guard.ts";
import { bulkheadCore, type Bulkhead } from "./bulkhead.ts";
import { breakerCore } from "./breaker-core.ts";
import type { CircuitBreaker } from "./circuit-breaker.ts";
import type { Policy } from "./policy.ts";
import { timeoutCore, type TimeoutPolicy } from "./timeout.ts";

/**
 * The policies of one pipeline, each optional. Pass instances so that state meant to be shared
 * (a callee's circuit breaker, bulkhead and retry budget) is shared by every pipeline calling it.
 */
export interface PipelineOptions {
  /** The overall deadline: a `createTimeout` covering every attempt and backoff. */
  deadline?: Policy;
  /** A client-side rate limiter (per logical call: retries are bounded by the budget instead). */
  rateLimiter?: Policy;
  /** A retry policy. Give `retry` or `hedging`, not both (as gRPC's service config allows one). */
  retry?: Policy;
  /** A hedging policy, for idempotent operations. */
  hedging?: Policy;
  /** A bulkhead (per attempt). */
  bulkhead?: Policy;
  /** A circuit breaker (per attempt). */
  circuitBreaker?: Policy;
  /** The per-try timeout: a `createTimeout`. */
  timeout?: Policy;
  /**
   * The clock the built-in bulkhead, breaker and timeout share when they are fused into one
   * layer (they must have been created with it). Default: none — they are composed unfused.
   */
  clock?: Clock;
}

function isBuiltIn<K extends symbol>(policy: Policy | undefined, key: K): boolean {
  return policy === undefined || key in policy;
}

/**
 * Composes policies in the one order Plexus documents (ADR "resilience", outermost first):
 *
 * 1. `deadline` — bounds the whole call, retries and backoff included; nothing starts after it.
 * 2. `rateLimiter` — a logical call takes one token, however many attempts it needs.
 * 3. `retry` / `hedging` — everything below runs once per attempt, so each attempt is admitted,
 *    measured and cut individually, and a refusal below is final (never retried here).
 * 4. `bulkhead` — holds a slot only while an attempt runs, never during backoff; outside the
 *    breaker so queueing time is not counted as the callee's latency.
 * 5. `circuitBreaker` — sees every attempt (each is real evidence about the callee) and rejects
 *    at once while open, which ends the retry loop without a wasted backoff.
 * 6. `timeout` — innermost: a timed-out attempt is a failure (and a slow call) to the breaker,
 *    and a retryable `DeadlineExceeded` to the retry.
 *
 * A fallback, which changes the result type, wraps the pipeline from outside (`withFallback`).
 *
 * The pipeline is itself a policy (an interceptor of attempts): run it with `execute`, or nest
 * it in another chain. Its layers are linked once per chain, never per call.
 *
 * @example
 * const pipeline = createPipeline({
 *   retry: createRetryPolicy({ budget }),
 *   bulkhead, circuitBreaker: breaker,
 *   timeout: createTimeout({ timeoutMs: 500 }),
 * });
 * const product = await execute(pipeline, (signal) => getProduct(id, signal), { deadline });
 */
export function createPipeline(options: PipelineOptions): Policy {
  if (options.retry !== undefined && options.hedging !== undefined) {
    throw new TypeError("createPipeline: give retry or hedging, not both");
  }
  const { bulkhead, circuitBreaker, timeout, clock } = options;
  const perAttempt: (Policy | undefined)[] = [bulkhead, circuitBreaker, timeout];
  if (
    clock !== undefined &&
    perAttempt.some((policy) => policy !== undefined) &&
    isBuiltIn(bulkhead, bulkheadCore) &&
    isBuiltIn(circuitBreaker, breakerCore) &&
    isBuiltIn(timeout, timeoutCore)
  ) {
    perAttempt.length = 0;
    perAttempt.push(
      attemptGuard(
        (bulkhead as Bulkhead | undefined)?.[bulkheadCore],
        (circuitBreaker as CircuitBreaker | undefined)?.[breakerCore],
        (timeout as TimeoutPolicy | undefined)?.[timeoutCore],
        clock,
      ),
    );
  }
  const ordered = [
    options.deadline,
    options.rateLimiter,
    options.retry ?? options.hedging,
    ...perAttempt,
  ].filter((policy): policy is Policy => policy !== undefined);
  if (ordered.length === 0) throw new TypeError("createPipeline: no policy given");
  if (ordered.length === 1) return ordered[0]!;
  return (next) => chainInterceptors(ordered, next);
}
