import {
  isRetryableCode,
  sleep,
  type BackoffJitter,
  type Clock,
  type Logger,
  type PlexusError,
} from "@plexus/core";
import {
  createRetrySchedule,
  exponentialBackoff,
  type Backoff,
  type RetrySchedule,
} from "@plexus/resilience";

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
   * How the backoff is jittered (resilience's `exponentialBackoff`). Default: `full`,
   * `random(0, bound)`, which spreads the retries of many sagas hitting the same recovering
   * service the most; `grpc` is gRFC A6's `bound * random(0.8, 1.2)`, with A6's cap of 5 tries.
   */
  jitter?: BackoffJitter;
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
  readonly jitter: BackoffJitter;
  readonly isRetryable: (error: PlexusError) => boolean;
  /** Resilience's `exponentialBackoff` of the numbers above, built once per policy. */
  readonly backoff: Backoff;
}

/** Defaults of a step's action. */
export const defaultActionRetry: RetryPolicy = {
  maxAttempts: 3,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  capLongPushback: false,
  multiplier: 2,
  jitter: "full",
  isRetryable: (error) => isRetryableCode(error.code),
  backoff: exponentialBackoff({ initialMs: 100, maxMs: 10_000, multiplier: 2 }),
};

/** Defaults of a compensation (and of finalisation hooks). */
export const defaultCompensationRetry: RetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  capLongPushback: true,
  multiplier: 2,
  jitter: "full",
  isRetryable: () => true,
  backoff: defaultActionRetry.backoff,
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
      jitter: options.jitter ?? policy.jitter,
      isRetryable: options.isRetryable ?? policy.isRetryable,
      backoff: policy.backoff,
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
  if (policy === base) return policy;
  const backoff = exponentialBackoff({
    initialMs: policy.initialDelayMs,
    maxMs: policy.maxDelayMs,
    multiplier: policy.multiplier,
    jitter: policy.jitter,
  });
  return { ...policy, backoff };
}

/**
 * The retry decisions of one half-step's tries (or of one finish) within one execution:
 * resilience's retry schedule, the one the client retry and message redelivery use, so a callee's
 * (or a local policy's) pushback steers the saga's tries as it steers a client's (gRFC A6): a
 * delay replaces the backoff for the next try, shorter or longer, and the backoff starts over
 * after it; "do not retry" (a negative or malformed value) gives up at once. A pushback beyond
 * `maxDelayMs` gives up at once too, unless `capLongPushback` (compensations) makes it a wait of
 * `maxDelayMs`: the saga does not sleep past its own bound, and an action trying earlier than
 * asked would only meet the same refusal (an open breaker stays open for its wait) and burn its
 * remaining tries.
 */
export function scheduleRetries(
  policy: RetryPolicy,
  random: () => number = Math.random,
): RetrySchedule {
  return createRetrySchedule({
    maxAttempts: policy.maxAttempts,
    backoff: policy.backoff,
    maxRetryAfterMs: policy.maxDelayMs,
    longPushback: policy.capLongPushback ? "cap" : "give-up",
    random,
  });
}

/**
 * Whether `policy` retries `error`. A throwing classifier (the service's code) counts as "do not
 * retry", logged: a bug there must not break the loop that writes the saga's state.
 */
export function isRetryableBy(policy: RetryPolicy, error: PlexusError, logger: Logger): boolean {
  try {
    return policy.isRetryable(error);
  } catch (classifyError) {
    logger.error({ err: classifyError }, "isRetryable threw; treating as false");
    return false;
  }
}

/** Waits the delay a retry decision chose; false when `stopping` (closing) cut it short. */
export async function waitToRetry(
  delayMs: number,
  stopping: AbortSignal,
  clock: Clock,
): Promise<boolean> {
  if (delayMs <= 0) return true;
  try {
    await sleep(delayMs, stopping, clock);
    return true;
  } catch {
    return false;
  }
}
