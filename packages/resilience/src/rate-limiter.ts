import { sleep, systemClock, type Clock } from "@plexus/core";
import { abortError, rejection } from "./errors.ts";
import { withState, type Attempt, type AttemptHandler, type Policy } from "./policy.ts";

export interface RateLimiterRejectEvent {
  /** When a token will be available. */
  readonly retryAfterMs: number;
}

export interface RateLimiterOptions {
  /** Sustained rate, in calls per second (tokens added per second). Required. */
  ratePerSecond: number;
  /**
   * Bucket capacity: calls allowed in a burst after a quiet spell. Default `max(1,
   * ratePerSecond)`, one second's worth.
   */
  burst?: number;
  /**
   * Longest a call may wait for a token, in ms (and never past its deadline). Default 0: refuse
   * at once with `ResourceExhausted` and a `retryAfterMs` hint; waiting only hides the overload.
   */
  maxWaitMs?: number;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
  /** Called for every call refused. */
  onReject?: (event: RateLimiterRejectEvent) => void;
}

export type RateLimiter = Policy & {
  /** Tokens available now (negative while waiters hold reservations). */
  readonly tokens: number;
};

/**
 * A token-bucket rate limiter: tokens refill continuously at `ratePerSecond` up to `burst`; a
 * call takes one. Without a token a call waits for its reservation (up to `maxWaitMs`) or is
 * refused with `ResourceExhausted` and `retryAfterMs` — a hint a retry honours as pushback.
 *
 * @example
 * const limiter = createRateLimiter({ ratePerSecond: 100, burst: 20 });
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { ratePerSecond, onReject } = options;
  if (!(ratePerSecond > 0)) throw new RangeError("createRateLimiter: ratePerSecond must be > 0");
  const burst = options.burst ?? Math.max(1, ratePerSecond);
  if (!(burst >= 1)) throw new RangeError("createRateLimiter: burst must be >= 1");
  const maxWaitMs = options.maxWaitMs ?? 0;
  const clock = options.clock ?? systemClock;
  const perMs = ratePerSecond / 1000;
  let tokens = burst;
  let last = clock.now();

  function refill(now: number): void {
    if (now > last) {
      tokens = Math.min(burst, tokens + (now - last) * perMs);
      last = now;
    }
  }

  async function waitThenRun(
    next: AttemptHandler,
    context: Attempt,
    waitMs: number,
  ): Promise<unknown> {
    try {
      await sleep(waitMs, context.signal, clock);
    } catch {
      tokens++; // The reservation goes back.
      throw abortError(context.signal);
    }
    return next(context);
  }

  const limiter: Policy = (next) =>
    function rateLimiter(context) {
      const now = clock.now();
      refill(now);
      if (tokens >= 1) {
        tokens--;
        return next(context);
      }
      const waitMs = Math.ceil((1 - tokens) / perMs);
      const withinDeadline = context.deadline === undefined || now + waitMs < context.deadline;
      if (waitMs <= maxWaitMs && withinDeadline) {
        tokens--;
        return waitThenRun(next, context, waitMs);
      }
      onReject?.({ retryAfterMs: waitMs });
      return Promise.reject(rejection("rate-limited", "rate limit exceeded", waitMs));
    };
  return withState(limiter, {
    get tokens() {
      refill(clock.now());
      return tokens;
    },
  });
}
