import { CountWindow, TimeWindow, type SlidingWindow } from "./sliding-window.ts";

export type SlidingWindowOptions =
  | {
      /** The outcomes of the last `size` calls (Resilience4j COUNT_BASED). */
      type: "count";
      size: number;
    }
  | {
      /** The outcomes of the calls of the last `sizeMs` (Resilience4j TIME_BASED). */
      type: "time";
      sizeMs: number;
      /** Bucket granularity. Default 1 000 (Resilience4j's epoch-second buckets). */
      bucketMs?: number;
    };

/** The settings of {@link CallRates} (see `CircuitBreakerOptions` for their defaults). */
export interface CallRatesOptions {
  slidingWindow?: SlidingWindowOptions;
  minimumNumberOfCalls?: number;
  failureRateThreshold?: number;
  slowCallRateThreshold?: number;
}

/** A window's counts and rates, as Resilience4j reports them (rates are -1 below the minimum). */
export interface WindowRates {
  readonly calls: number;
  readonly failedCalls: number;
  readonly slowCalls: number;
  readonly failureRate: number;
  readonly slowCallRate: number;
}

/**
 * The failure and slow-call rates a breaker decides on: the closed circuit's window (count- or
 * time-based, with the minimum of calls that type allows) and the thresholds any window's rates
 * are held against.
 */
export class CallRates {
  /** The window of a closed (or metrics-only) circuit. */
  readonly closed: SlidingWindow;
  /** Calls the closed window must hold before its rates count (at most its size when counted). */
  readonly minimumCalls: number;
  private readonly failureRateThreshold: number;
  private readonly slowCallRateThreshold: number;

  constructor(options: CallRatesOptions) {
    const windowOptions = options.slidingWindow ?? { type: "count", size: 100 };
    this.closed =
      windowOptions.type === "count"
        ? new CountWindow(windowOptions.size)
        : new TimeWindow(windowOptions.sizeMs, windowOptions.bucketMs ?? 1_000);
    this.minimumCalls = Math.max(
      1,
      windowOptions.type === "count"
        ? Math.min(options.minimumNumberOfCalls ?? 100, windowOptions.size)
        : (options.minimumNumberOfCalls ?? 100),
    );
    this.failureRateThreshold = options.failureRateThreshold ?? 50;
    this.slowCallRateThreshold = options.slowCallRateThreshold ?? 100;
    if (!(this.failureRateThreshold > 0 && this.failureRateThreshold <= 100)) {
      throw new RangeError("createCircuitBreaker: 0 < failureRateThreshold <= 100");
    }
    if (!(this.slowCallRateThreshold > 0 && this.slowCallRateThreshold <= 100)) {
      throw new RangeError("createCircuitBreaker: 0 < slowCallRateThreshold <= 100");
    }
  }

  /** `true` when the rates of `window` reach a threshold (inclusive), given enough calls. */
  exceeded(window: SlidingWindow, minimum: number): boolean | undefined {
    const { calls, failures, slow } = window.totals;
    if (calls < minimum) return undefined;
    // Integer comparisons: exactly reaching a threshold opens, without float rounding.
    return (
      failures * 100 >= this.failureRateThreshold * calls ||
      slow * 100 >= this.slowCallRateThreshold * calls
    );
  }

  /** The counts and rates of `window` at `now`. */
  of(window: SlidingWindow, minimum: number, now: number): WindowRates {
    window.advance(now);
    const { calls, failures, slow } = window.totals;
    const enough = calls >= minimum && calls > 0;
    return {
      calls,
      failedCalls: failures,
      slowCalls: slow,
      failureRate: enough ? (failures * 100) / calls : -1,
      slowCallRate: enough ? (slow * 100) / calls : -1,
    };
  }
}
