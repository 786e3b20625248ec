/**
 * Grows the open wait with each consecutive opening: `min(maxMs, initialMs * multiplier **
 * (openings - 1))` (Resilience4j's exponential `IntervalFunction`).
 */
export function growingOpenWait(options: {
  initialMs: number;
  multiplier?: number;
  maxMs?: number;
}): (openings: number) => number {
  const multiplier = options.multiplier ?? 2;
  const maxMs = options.maxMs ?? Infinity;
  return (openings) => Math.min(maxMs, options.initialMs * multiplier ** (openings - 1));
}

/**
 * How long an open circuit refuses calls: the wait of this opening (fixed, or growing with the
 * openings in a row, which only a close resets) and when it ends.
 */
export class OpenWait {
  /** Openings in a row, since the circuit was last closed. */
  private openings = 0;
  /** Until when (inclusive) the current opening refuses calls. */
  private until = 0;
  private readonly waitMs: number | ((openings: number) => number);

  constructor(waitMs: number | ((openings: number) => number)) {
    this.waitMs = waitMs;
  }

  /** Starts an opening at `now`; returns its wait. */
  begin(now: number): number {
    this.openings++;
    const waitMs = typeof this.waitMs === "number" ? this.waitMs : this.waitMs(this.openings);
    this.until = now + waitMs;
    return waitMs;
  }

  /** Strictly after the wait, as Resilience4j: at its last ms the circuit is still open. */
  isOver(now: number): boolean {
    return now > this.until;
  }

  /** At least 1 ms: a retry at exactly the end of the wait would be refused again. */
  retryAfterMs(now: number): number {
    return Math.max(1, this.until - now);
  }

  /** The circuit closed: the next opening is a first one again. */
  reset(): void {
    this.openings = 0;
  }
}
