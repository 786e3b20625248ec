/**
 * Backoff between retries, as studied in AWS's "Exponential Backoff And Jitter" (Marc Brooker,
 * 2015, https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/): jitter is
 * what de-synchronises clients that failed together, and full jitter does the least total work.
 */

/**
 * The delay before a retry. `retry` is 1 for the first retry (the second attempt);
 * `previousMs` is the previous delay this function returned (0 before the first), which
 * decorrelated jitter builds on; `random` returns a number in [0, 1).
 */
export type Backoff = (retry: number, previousMs: number, random: () => number) => number;

export interface ExponentialBackoffOptions {
  /** The first retry's ceiling, in ms (gRPC's `initialBackoff`, AWS's `base`). Default 100. */
  initialMs?: number;
  /** The largest ceiling, in ms (gRPC's `maxBackoff`, AWS's `cap`). Default 10 000. */
  maxMs?: number;
  /** Growth of the ceiling per retry (gRPC's `backoffMultiplier`; AWS uses 2). Default 2. */
  multiplier?: number;
  /**
   * `full` (default): `random(0, ceiling)` — AWS's "Full Jitter", and exactly gRPC A6's
   * `random(0, min(initialBackoff * backoffMultiplier ** (n - 1), maxBackoff))`.
   * `equal`: `ceiling / 2 + random(0, ceiling / 2)` — AWS's "Equal Jitter", which never waits
   * less than half the ceiling. `none`: the ceiling itself (plain exponential backoff; clients
   * that failed together retry together — only for a single client).
   */
  jitter?: "full" | "equal" | "none";
}

/**
 * Exponential backoff with jitter: ceiling = `min(maxMs, initialMs * multiplier ** (retry - 1))`,
 * then jittered. The default (full jitter) is what DESIGN.md asks for on every retry.
 *
 * @example
 * createRetryPolicy({ backoff: exponentialBackoff({ initialMs: 50, maxMs: 2_000 }) });
 */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): Backoff {
  const initialMs = options.initialMs ?? 100;
  const maxMs = options.maxMs ?? 10_000;
  const multiplier = options.multiplier ?? 2;
  const jitter = options.jitter ?? "full";
  if (!(initialMs >= 0) || !(maxMs >= 0) || !(multiplier >= 1)) {
    throw new RangeError("exponentialBackoff: initialMs, maxMs >= 0 and multiplier >= 1");
  }
  return function exponential(retry, _previousMs, random) {
    const ceiling = Math.min(maxMs, initialMs * multiplier ** (retry - 1));
    if (jitter === "full") return random() * ceiling;
    if (jitter === "equal") return ceiling / 2 + random() * (ceiling / 2);
    return ceiling;
  };
}

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
