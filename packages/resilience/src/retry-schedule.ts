import { cappedAttempts, type Backoff } from "./backoff.ts";

/** What follows a retryable failure: another attempt after `delayMs`, or giving up. */
export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number; readonly source: "backoff" | "pushback" }
  | { readonly retry: false; readonly reason: "max-attempts" | "pushback" | "pushback-too-long" };

export interface RetryScheduleOptions {
  /** Attempts in all, the first included; a backoff's own cap (gRFC A6: 5) applies over it. */
  readonly maxAttempts: number;
  /** The delay before a retry the server did not push back on. */
  readonly backoff: Backoff;
  /** Longest pushback honoured, in ms. */
  readonly maxRetryAfterMs: number;
  /**
   * What a pushback longer than `maxRetryAfterMs` does: `give-up` (default) returns the failure at
   * once — a caller with an alternative (compensate, fail fast) should not wait on a callee in
   * trouble, and trying earlier than asked would only meet the same refusal; `cap` waits
   * `maxRetryAfterMs` and tries again, for work with no alternative (a saga's undo, a message).
   */
  readonly longPushback?: "give-up" | "cap";
  /** Uniform in [0, 1), for the backoff's jitter. */
  readonly random: () => number;
}

/** The retry decisions of one operation's attempts, in order. */
export interface RetrySchedule {
  /**
   * Decides after the next attempt failed retryably. `pushbackMs` is the server's (core's
   * `retryAfterMsOf`): undefined for none, negative for "do not retry".
   */
  next(pushbackMs: number | undefined): RetryDecision;
}

/**
 * The one retry decision of Plexus — client retries, saga steps and message redelivery — per
 * gRFC A6: `maxAttempts` counts the first attempt; a pushback (`grpc-retry-pushback-ms`,
 * `Retry-After`) replaces the backoff for the next retry, shorter or longer, and the backoff
 * starts over from its first delay after it; a negative or malformed pushback means "do not
 * retry" and gives up at once, even with attempts left. Whether a failure is retryable at all,
 * deadlines and budgets stay with the caller: they differ per boundary.
 *
 * @example
 * const schedule = createRetrySchedule({ maxAttempts: 3, backoff, maxRetryAfterMs: 30_000, random });
 * const decision = schedule.next(retryAfterMsOf(error));
 */
export function createRetrySchedule(options: RetryScheduleOptions): RetrySchedule {
  const { backoff, maxRetryAfterMs, random } = options;
  const maxAttempts = cappedAttempts(options.maxAttempts, backoff);
  const capLongPushback = options.longPushback === "cap";
  let failures = 0;
  // Backoff retries since the last pushback: A6 resets the backoff after one.
  let backoffRetries = 0;
  let previousDelay = 0;
  return {
    next(pushbackMs) {
      failures++;
      if (pushbackMs !== undefined && pushbackMs < 0) return { retry: false, reason: "pushback" };
      if (failures >= maxAttempts) return { retry: false, reason: "max-attempts" };
      if (pushbackMs === undefined) {
        const delayMs = backoff(++backoffRetries, previousDelay, random);
        previousDelay = delayMs;
        return { retry: true, delayMs, source: "backoff" };
      }
      if (pushbackMs > maxRetryAfterMs && !capLongPushback) {
        return { retry: false, reason: "pushback-too-long" };
      }
      backoffRetries = 0;
      previousDelay = 0;
      return { retry: true, delayMs: Math.min(pushbackMs, maxRetryAfterMs), source: "pushback" };
    },
  };
}
