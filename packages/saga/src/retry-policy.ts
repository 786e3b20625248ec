import { isRetryableCode, type PlexusError } from "@plexus/core";

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
  /** Cap of any backoff. Default: 10 000 ms, so a saga never sleeps long between tries. */
  maxDelayMs?: number;
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
  readonly multiplier: number;
  readonly isRetryable: (error: PlexusError) => boolean;
}

/** Defaults of a step's action. */
export const defaultActionRetry: RetryPolicy = {
  maxAttempts: 3,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  multiplier: 2,
  isRetryable: (error) => isRetryableCode(error.code),
};

/** Defaults of a compensation (and of finalisation hooks). */
export const defaultCompensationRetry: RetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
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
