/** Outcome flags of one recorded call. */
export const outcomeFailure = 1;
export const outcomeSlow = 2;

/** Aggregates of the calls a window currently holds. */
export interface WindowTotals {
  calls: number;
  failures: number;
  slow: number;
}

/**
 * A sliding window of call outcomes with O(1) recording, kept as running totals (Resilience4j's
 * "partial aggregations"): no per-call allocation, nothing to scan when the rate is read.
 */
export interface SlidingWindow {
  readonly totals: WindowTotals;
  /** Records one call's outcome (flags above) at time `now`. */
  record(outcome: number, now: number): void;
  /** Evicts what has slid out of the window by `now` (time-based windows only). */
  advance(now: number): void;
  reset(): void;
}

/**
 * Resilience4j's COUNT_BASED window: the outcomes of the last `size` calls, in a ring buffer.
 */
export class CountWindow implements SlidingWindow {
  readonly totals: WindowTotals = { calls: 0, failures: 0, slow: 0 };
  private readonly ring: Uint8Array;
  private index = 0;

  constructor(size: number) {
    if (!(Number.isInteger(size) && size >= 1)) {
      throw new RangeError("sliding window size must be an integer >= 1");
    }
    this.ring = new Uint8Array(size);
  }

  record(outcome: number, _now?: number): void {
    const { ring, totals } = this;
    if (totals.calls === ring.length) {
      const evicted = ring[this.index]!;
      if (evicted & outcomeFailure) totals.failures--;
      if (evicted & outcomeSlow) totals.slow--;
    } else {
      totals.calls++;
    }
    ring[this.index] = outcome;
    if (outcome & outcomeFailure) totals.failures++;
    if (outcome & outcomeSlow) totals.slow++;
    this.index = this.index + 1 === ring.length ? 0 : this.index + 1;
  }

  advance(): void {}

  reset(): void {
    this.ring.fill(0);
    this.index = 0;
    this.totals.calls = this.totals.failures = this.totals.slow = 0;
  }
}

/**
 * Resilience4j's TIME_BASED window: the outcomes of the calls of the last `sizeMs`, kept in
 * `sizeMs / bucketMs` buckets (Resilience4j: one bucket per epoch second, `bucketMs` 1 000). A
 * bucket leaves the window whole, so the window spans between `sizeMs - bucketMs` and `sizeMs`.
 */
export class TimeWindow implements SlidingWindow {
  readonly totals: WindowTotals = { calls: 0, failures: 0, slow: 0 };
  private readonly bucketMs: number;
  private readonly calls: Int32Array;
  private readonly failures: Int32Array;
  private readonly slow: Int32Array;
  /** The newest bucket's epoch (time / bucketMs); buckets older than `head - n + 1` are gone. */
  private head = -Infinity;

  constructor(sizeMs: number, bucketMs: number) {
    if (!(bucketMs > 0) || !(sizeMs >= bucketMs)) {
      throw new RangeError("time window: bucketMs > 0 and sizeMs >= bucketMs");
    }
    const n = Math.ceil(sizeMs / bucketMs);
    this.bucketMs = bucketMs;
    this.calls = new Int32Array(n);
    this.failures = new Int32Array(n);
    this.slow = new Int32Array(n);
  }

  advance(now: number): void {
    const epoch = Math.floor(now / this.bucketMs);
    if (epoch <= this.head) return;
    const n = this.calls.length;
    const { totals } = this;
    if (epoch - this.head >= n) {
      this.calls.fill(0);
      this.failures.fill(0);
      this.slow.fill(0);
      totals.calls = totals.failures = totals.slow = 0;
    } else {
      for (let e = this.head + 1; e <= epoch; e++) {
        const i = e % n;
        totals.calls -= this.calls[i]!;
        totals.failures -= this.failures[i]!;
        totals.slow -= this.slow[i]!;
        this.calls[i] = this.failures[i] = this.slow[i] = 0;
      }
    }
    this.head = epoch;
  }

  record(outcome: number, now: number): void {
    this.advance(now);
    // A clock that stepped back records into the newest bucket.
    const i = this.head % this.calls.length;
    const { totals } = this;
    this.calls[i]!++;
    totals.calls++;
    if (outcome & outcomeFailure) {
      this.failures[i]!++;
      totals.failures++;
    }
    if (outcome & outcomeSlow) {
      this.slow[i]!++;
      totals.slow++;
    }
  }

  reset(): void {
    this.calls.fill(0);
    this.failures.fill(0);
    this.slow.fill(0);
    this.head = -Infinity;
    this.totals.calls = this.totals.failures = this.totals.slow = 0;
  }
}
