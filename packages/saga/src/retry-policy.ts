import { isRetryableCode, retryAfterMsOf, type PlexusError } from "@plexus/core";

/** How a step's action (or compensation) is retried within one execution. */
export interface RetryPolicyOptions {
  /**
   * Tries in all, the first included. Default: 3 for actions (a transient failure of a
   * downstream service gets two more chances before the saga compensates), 5 for compensations
   * and finalisation (there is no fallback for a failed undo but an operator).
   */
  maxAttempts?: number;
  /** Upper bound of the first backoff. Default: 100 ms. */
  initialDelayMs?: number;
  /**
   * Cap of any backoff, and of any pushback honoured (see `capLongPushback`). Default: 10 000 ms,
   * so a saga never sleeps long between tries.
   */
  maxDelayMs?: number;
  /**
   * What a pushback longer than `maxDelayMs` does: `false` gives up at once (retries exhausted:
   * an action then compensates rather than wait for a callee in trouble), `true` waits
   * `maxDelayMs` and tries again (an undo has no alternative but an operator, so it keeps its
   * tries). Default: `false` for actions, `true` for compensations and finalisation.
   */
  capLongPushback?: boolean;
  /** Growth of the backoff bound per try. Default: 2 (exponential). */
  multiplier?: number;
  /**
   * Whether a failed try may be retried. Default for actions: core's `isRetryableCode` of the
   * error's code (Unavailable, ResourceExhausted, DeadlineExceeded — a step timeout included),
   * the one rule every Plexus policy shares. Default for compensations and finalisation: every
   * error, since giving up means parking the saga for an operator.
   */
  isRetryable?: (error: PlexusError) => boolean;
}

/** A policy with every default applied. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly capLongPushback: boolean;
  readonly multiplier: number;
  readonly isRetryable: (error: PlexusError) => boolean;
}

/** Defaults of a step's action. */
export const defaultActionRetry: RetryPolicy = {
  maxAttempts: 3,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  capLongPushback: false,
  multiplier: 2,
  isRetryable: (error) => isRetryableCode(error.code),
};

/** Defaults of a compensation (and of finalisation hooks). */
export const defaultCompensationRetry: RetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  capLongPushback: true,
  multiplier: 2,
  isRetryable: () => true,
};

/** Applies `options` over `base`, validating the numbers. */
export function resolveRetryPolicy(
  base: RetryPolicy,
  ...layers: (RetryPolicyOptions | undefined)[]
): RetryPolicy {
  let policy = base;
  for (const options of layers) {
    if (!options) continue;
    policy = {
      maxAttempts: options.maxAttempts ?? policy.maxAttempts,
      initialDelayMs: options.initialDelayMs ?? policy.initialDelayMs,
      maxDelayMs: options.maxDelayMs ?? policy.maxDelayMs,
      capLongPushback: options.capLongPushback ?? policy.capLongPushback,
      multiplier: options.multiplier ?? policy.multiplier,
      isRetryable: options.isRetryable ?? policy.isRetryable,
    };
  }
  if (!Number.isSafeInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError(`retry maxAttempts must be an integer >= 1, got ${policy.maxAttempts}`);
  }
  for (const key of ["initialDelayMs", "maxDelayMs"] as const) {
    if (!Number.isFinite(policy[key]) || policy[key] < 0) {
      throw new RangeError(`retry ${key} must be a finite number >= 0, got ${policy[key]}`);
    }
  }
  if (!Number.isFinite(policy.multiplier) || policy.multiplier < 1) {
    throw new RangeError(`retry multiplier must be >= 1, got ${policy.multiplier}`);
  }
  return policy;
}

/**
 * Exponential backoff with full jitter (uniform in [0, bound)) after the `failedAttempt`-th try
 * (1-based) failed: spreads retries of many sagas hitting the same recovering service.
 */
export function backoffDelayMs(
  policy: RetryPolicy,
  failedAttempt: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, failedAttempt - 1);
  const bound = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** exponent);
  return Math.floor(random() * bound);
}

/** What follows a retryable failure of a try: another try after `delayMs`, or giving up. */
export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number; readonly source: "backoff" | "pushback" }
  | { readonly retry: false; readonly reason: "max-attempts" | "pushback" | "pushback-too-long" };

/** The retry decisions of one half-step's tries within one execution, in order. */
export interface RetrySchedule {
  /** Decides after the next try failed with a retryable `error`. */
  next(error: PlexusError): RetryDecision;
}

/**
 * Schedules retries under `policy`, reading a callee's (or a local policy's) pushback the way
 * gRFC A6 and Plexus's client retry do (core's `retryAfterMsOf`): a delay replaces the backoff
 * for the next try, shorter or longer, and the backoff starts over after it; "do not retry" (a
 * negative or malformed value) gives up at once. A pushback beyond `maxDelayMs` gives up at once
 * too, unless `capLongPushback` (compensations) makes it a wait of `maxDelayMs`: the saga does not
 * sleep past its own bound, and an action trying earlier than asked would only meet the same
 * refusal (an open breaker stays open for its wait) and burn its remaining tries.
 */
export function createRetrySchedule(
  policy: RetryPolicy,
  random: () => number = Math.random,
): RetrySchedule {
  let failedTries = 0;
  // Backoff retries since the last pushback: A6 resets the backoff after one.
  let backoffRetries = 0;
  return {
    next(error) {
      failedTries++;
      const pushback = retryAfterMsOf(error);
      if (pushback !== undefined && pushback < 0) return { retry: false, reason: "pushback" };
      if (failedTries >= policy.maxAttempts) return { retry: false, reason: "max-attempts" };
      if (pushback === undefined) {
        const delayMs = backoffDelayMs(policy, ++backoffRetries, random);
        return { retry: true, delayMs, source: "backoff" };
      }
      if (pushback > policy.maxDelayMs && !policy.capLongPushback) {
        return { retry: false, reason: "pushback-too-long" };
      }
      backoffRetries = 0;
      return { retry: true, delayMs: Math.min(pushback, policy.maxDelayMs), source: "pushback" };
    },
  };
}
