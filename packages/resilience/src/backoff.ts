import type { BackoffJitter, BackoffOptions } from "@plexus/core";

/**
 * Backoff between retries, as studied in AWS's "Exponential Backoff And Jitter" (Marc Brooker,
 * 2015, https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/): jitter is
 * what de-synchronises clients that failed together, and full jitter does the least total work.
 */

/**
 * The delay before a retry. `retry` is 1 for the first retry (the second attempt);
 * `previousMs` is the previous delay this function returned (0 before the first), which
 * decorrelated jitter builds on; `random` returns a number in [0, 1).
 *
 * `maxAttempts` is a cap on attempts that the backoff's own specification sets (gRFC A6: "values
 * greater than 5 are treated as 5"); every retry schedule applies it over its own `maxAttempts`.
 */
export interface Backoff {
  (retry: number, previousMs: number, random: () => number): number;
  readonly maxAttempts?: number;
}

/** gRFC A6's client cap on `maxAttempts`: a larger value is treated as 5. */
export const grpcMaxAttempts = 5;

/** The attempts allowed under `backoff`: `maxAttempts`, or the backoff's own cap if lower. */
export function cappedAttempts(maxAttempts: number, backoff: Backoff): number {
  return Math.min(maxAttempts, backoff.maxAttempts ?? maxAttempts);
}

/**
 * The options of {@link exponentialBackoff}: core's `BackoffOptions`, the one shape that message
 * redelivery and the outbox relay take too. Defaults here (client retries): 100 ms .. 10 s, ×2,
 * full jitter.
 */
export type ExponentialBackoffOptions = BackoffOptions;

/**
 * Exponential backoff with jitter: ceiling = `min(maxMs, initialMs * multiplier ** (retry - 1))`,
 * then jittered by `jitter` and rounded down to whole milliseconds:
 *
 * - `full` (default): `random(0, ceiling)` — AWS's "Full Jitter", the least total work for
 *   clients that failed together, and what DESIGN.md asks for on every retry. (gRFC A6 specified
 *   this formula until its 2024 revision.)
 * - `grpc`: `ceiling * random(0.8, 1.2)` — gRFC A6 as revised in 2024 (grpc/proposal#452): the
 *   first retry waits about `initialMs`, never less than 0.8× of it, and a delay may exceed
 *   `maxMs` by up to 20 %. Carries A6's cap of {@link grpcMaxAttempts} attempts.
 * - `equal`: `ceiling / 2 + random(0, ceiling / 2)` — AWS's "Equal Jitter", which never waits
 *   less than half the ceiling.
 * - `none`: the ceiling itself (plain exponential backoff; clients that failed together retry
 *   together — only for a single client).
 *
 * @example
 * createRetryPolicy({ backoff: exponentialBackoff({ initialMs: 50, maxMs: 2_000 }) });
 * createRetryPolicy({ maxAttempts: 5, backoff: exponentialBackoff({ jitter: "grpc" }) });
 */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): Backoff {
  const initialMs = options.initialMs ?? 100;
  const maxMs = options.maxMs ?? 10_000;
  const multiplier = options.multiplier ?? 2;
  const jitter: BackoffJitter = options.jitter ?? "full";
  if (!(initialMs >= 0) || !(maxMs >= 0) || !(multiplier >= 1)) {
    throw new RangeError("exponentialBackoff: initialMs, maxMs >= 0 and multiplier >= 1");
  }
  if (!jitterKinds.has(jitter)) {
    throw new RangeError(`exponentialBackoff: unknown jitter "${String(jitter)}"`);
  }
  function exponential(retry: number, _previousMs: number, random: () => number): number {
    // 0 × Infinity (a long run of retries from 0 ms) would be NaN: a zero start stays zero.
    const ceiling = initialMs === 0 ? 0 : Math.min(maxMs, initialMs * multiplier ** (retry - 1));
    // Whole milliseconds, rounded down: timers have no finer resolution, and logs and stored
    // retry times read better.
    if (jitter === "full") return Math.floor(random() * ceiling);
    if (jitter === "grpc") return Math.floor(ceiling * (0.8 + random() * 0.4));
    if (jitter === "equal") return Math.floor(ceiling / 2 + random() * (ceiling / 2));
    return Math.floor(ceiling);
  }
  return jitter === "grpc"
    ? Object.assign(exponential, { maxAttempts: grpcMaxAttempts })
    : exponential;
}

const jitterKinds: ReadonlySet<string> = new Set<BackoffJitter>(["full", "grpc", "equal", "none"]);

export interface DecorrelatedJitterOptions {
  /** The smallest delay, in ms (AWS's `base`). Default 100. */
  baseMs?: number;
  /** The largest delay, in ms (AWS's `cap`). Default 10 000. */
  maxMs?: number;
}

/**
 * AWS's "Decorrelated Jitter": `sleep = min(cap, random_between(base, sleep * 3))`, starting
 * from `sleep = base`. Each delay depends on the previous one, not on the retry number.
 */
export function decorrelatedJitterBackoff(options: DecorrelatedJitterOptions = {}): Backoff {
  const baseMs = options.baseMs ?? 100;
  const maxMs = options.maxMs ?? 10_000;
  if (!(baseMs >= 0) || !(maxMs >= baseMs)) {
    throw new RangeError("decorrelatedJitterBackoff: 0 <= baseMs <= maxMs");
  }
  return function decorrelated(_retry, previousMs, random) {
    const sleep = Math.max(baseMs, previousMs);
    return Math.min(maxMs, baseMs + random() * (sleep * 3 - baseMs));
  };
}

/** The same delay before every retry. */
export function constantBackoff(delayMs: number): Backoff {
  if (!(delayMs >= 0)) throw new RangeError("constantBackoff: delayMs must be >= 0");
  return function constant() {
    return delayMs;
  };
}
