import { Code, PlexusError, systemClock, type Clock, type TimerHandle } from "@plexus/core";
import { rejection, rejectionKindOf } from "./errors.ts";
import {
  executeWith,
  rejectedWith,
  type ExecuteOptions,
  type Next,
  type Operation,
  type Policy,
  type PolicyContext,
} from "./policy.ts";
import {
  CountWindow,
  outcomeFailure,
  outcomeSlow,
  TimeWindow,
  type SlidingWindow,
} from "./sliding-window.ts";

/**
 * Resilience4j's states: the three of the state machine, and three special ones that only an
 * explicit {@link CircuitBreaker.transitionTo} enters or leaves — `disabled` (always permit, no
 * metrics), `metrics-only` (always permit, record metrics and events, never transition) and
 * `forced-open` (always reject).
 */
export type CircuitState =
  "closed" | "open" | "half-open" | "disabled" | "metrics-only" | "forced-open";

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

export interface StateChangeEvent {
  readonly from: CircuitState;
  readonly to: CircuitState;
}

export interface CircuitRejectEvent {
  readonly state: CircuitState;
  /** When the circuit may let calls through again (`undefined`: unknown). */
  readonly retryAfterMs: number | undefined;
}

export interface CircuitBreakerOptions {
  /**
   * The window the failure and slow-call rates are computed over while closed. Default
   * `{ type: "count", size: 100 }` (Resilience4j's default).
   */
  slidingWindow?: SlidingWindowOptions;
  /**
   * Calls the window must hold before a rate is computed (Resilience4j
   * `minimumNumberOfCalls`; for a count window, capped at its size). Default 100: a handful of
   * failures among few calls is noise, not an outage.
   */
  minimumNumberOfCalls?: number;
  /** Failure rate, in percent, at or above which the circuit opens (inclusive). Default 50. */
  failureRateThreshold?: number;
  /**
   * Slow-call rate, in percent, at or above which the circuit opens (inclusive). Default 100
   * (Resilience4j's): open when every call is slow — a callee that answers, but too late to help.
   */
  slowCallRateThreshold?: number;
  /** A call taking longer than this (strictly) is slow. Default 60 000 (Resilience4j's). */
  slowCallDurationThresholdMs?: number;
  /**
   * How long the circuit stays open before it lets trial calls through: a fixed time, or a
   * function of how many times in a row it opened (1 for the first; Resilience4j's
   * `waitIntervalFunctionInOpenState`), see {@link growingOpenWait}. Default 60 000.
   */
  openWaitMs?: number | ((openings: number) => number);
  /**
   * Whether the circuit goes half-open on a timer when the wait ends (Resilience4j
   * `automaticTransitionFromOpenToHalfOpenEnabled`) rather than on the first call after it.
   * Default false: no timer runs for an idle callee.
   */
  automaticTransitionToHalfOpen?: boolean;
  /** Trial calls permitted while half-open (Resilience4j's default 10). */
  permittedCallsInHalfOpen?: number;
  /**
   * Longest stay in half-open, in ms, before the circuit opens again (Resilience4j
   * `maxWaitDurationInHalfOpenState`). Default 0: wait until every trial call completes —
   * which never happens if one hangs, so set it when calls have no timeout.
   */
  maxWaitInHalfOpenMs?: number;
  /**
   * Which errors count as failures (Resilience4j `recordExceptions`); the others count as
   * successes. Default {@link isCalleeFailure}: the codes that say the callee is in trouble.
   */
  isFailure?: (error: unknown) => boolean;
  /**
   * Which errors count as neither (Resilience4j `ignoreExceptions`, which wins over
   * `isFailure`); an ignored call gives its half-open permit back. Default: cancellations
   * (the caller gave up; that says nothing of the callee) and this process's policy rejections.
   */
  isIgnored?: (error: unknown) => boolean;
  /** Which results count as failures (Resilience4j `recordResult`). Default: none. */
  isFailureResult?: (result: unknown) => boolean;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
  /** Called on every state change (metrics gauge, span event, log). */
  onStateChange?: (event: StateChangeEvent) => void;
  /** Called for every call the circuit refuses. */
  onReject?: (event: CircuitRejectEvent) => void;
}

/** A breaker's metrics, as Resilience4j reports them (rates are -1 below the minimum calls). */
export interface CircuitMetrics {
  readonly state: CircuitState;
  readonly calls: number;
  readonly failedCalls: number;
  readonly slowCalls: number;
  readonly failureRate: number;
  readonly slowCallRate: number;
  readonly notPermittedCalls: number;
}

/**
 * The breaker's logic as synchronous steps, so a fused pipeline can run it without a promise
 * layer of its own. A permit is the generation it was granted in; -1 means refused.
 */
export interface BreakerCore {
  acquire(now: number): number;
  /** The refusal error (counts it and tells `onReject`). */
  rejectError(now: number): PlexusError;
  /** `disabled`: nothing to record. */
  readonly disabled: boolean;
  succeeded(permit: number, start: number, result: unknown): void;
  failed(permit: number, start: number, error: unknown): void;
}

/** Internal access to a built-in policy's core, for fused pipelines. */
export const breakerCore = Symbol("plexus.resilience.breaker");

export interface CircuitBreaker extends Policy, Disposable {
  readonly [breakerCore]: BreakerCore;
  readonly state: CircuitState;
  metrics(): CircuitMetrics;
  /** Moves to any state by hand (e.g. `forced-open` for maintenance, `disabled` in an incident). */
  transitionTo(state: CircuitState): void;
  /** Back to `closed` with empty metrics. */
  reset(): void;
}

/**
 * The default failure predicate: codes that say the callee is unavailable, overloaded, too slow
 * or broken. A callee answering NOT_FOUND or INVALID_ARGUMENT is healthy, so those count as
 * successes; errors that are not PlexusErrors are failures, as in Resilience4j.
 */
export function isCalleeFailure(error: unknown): boolean {
  if (!(error instanceof PlexusError)) return true;
  const code = error.code;
  return (
    code === Code.Unavailable ||
    code === Code.DeadlineExceeded ||
    code === Code.ResourceExhausted ||
    code === Code.Internal ||
    code === Code.Unknown ||
    code === Code.DataLoss
  );
}

function defaultIsIgnored(error: unknown): boolean {
  return (
    error instanceof PlexusError &&
    (error.code === Code.Canceled || rejectionKindOf(error) !== undefined)
  );
}

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
 * A circuit breaker with Resilience4j's semantics (https://resilience4j.readme.io/docs/circuitbreaker):
 * count- or time-based sliding window; it opens when the failure rate or the slow-call rate is
 * equal to or above its threshold once the window holds `minimumNumberOfCalls`; after the open
 * wait it lets `permittedCallsInHalfOpen` trial calls through and decides on their outcome alone
 * (back to open, or closed with fresh metrics); `maxWaitInHalfOpenMs` bounds the trial.
 *
 * One deliberate refinement: every permit carries the state it was granted in, and an outcome
 * that arrives after the state changed is not counted — a call started before the circuit
 * opened cannot close it half-open, nor count as one of its trial calls.
 *
 * @example
 * const breaker = createCircuitBreaker({
 *   slidingWindow: { type: "time", sizeMs: 10_000 },
 *   minimumNumberOfCalls: 20,
 *   openWaitMs: 5_000,
 * });
 * await breaker.execute((signal) => payments.charge(req, { signal }));
 */
export function createCircuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  const clock = options.clock ?? systemClock;
  const windowOptions = options.slidingWindow ?? { type: "count", size: 100 };
  const closedWindow: SlidingWindow =
    windowOptions.type === "count"
      ? new CountWindow(windowOptions.size)
      : new TimeWindow(windowOptions.sizeMs, windowOptions.bucketMs ?? 1_000);
  const minimumCalls = Math.max(
    1,
    windowOptions.type === "count"
      ? Math.min(options.minimumNumberOfCalls ?? 100, windowOptions.size)
      : (options.minimumNumberOfCalls ?? 100),
  );
  const failureRateThreshold = options.failureRateThreshold ?? 50;
  const slowCallRateThreshold = options.slowCallRateThreshold ?? 100;
  if (!(failureRateThreshold > 0 && failureRateThreshold <= 100)) {
    throw new RangeError("createCircuitBreaker: 0 < failureRateThreshold <= 100");
  }
  if (!(slowCallRateThreshold > 0 && slowCallRateThreshold <= 100)) {
    throw new RangeError("createCircuitBreaker: 0 < slowCallRateThreshold <= 100");
  }
  const slowMs = options.slowCallDurationThresholdMs ?? 60_000;
  const openWait = options.openWaitMs ?? 60_000;
  const permitted = options.permittedCallsInHalfOpen ?? 10;
  if (!(Number.isInteger(permitted) && permitted >= 1)) {
    throw new RangeError("createCircuitBreaker: permittedCallsInHalfOpen must be an integer >= 1");
  }
  const halfOpenWindow = new CountWindow(permitted);
  const maxWaitInHalfOpenMs = options.maxWaitInHalfOpenMs ?? 0;
  const autoHalfOpen = options.automaticTransitionToHalfOpen ?? false;
  const isFailure = options.isFailure ?? isCalleeFailure;
  const isIgnored = options.isIgnored ?? defaultIsIgnored;
  const { isFailureResult, onStateChange, onReject } = options;

  let state: CircuitState = "closed";
  /** Incremented on every transition: a permit is only good for the state it was granted in. */
  let generation = 0;
  let openUntil = 0;
  let openings = 0;
  let halfOpenPermits = 0;
  let notPermitted = 0;
  let timer: TimerHandle = undefined;

  function clearTimer(): void {
    if (timer !== undefined) {
      clock.clearTimeout(timer);
      timer = undefined;
    }
  }

  function transition(to: CircuitState, now: number): void {
    const from = state;
    clearTimer();
    state = to;
    generation++;
    if (to === "open") {
      openings++;
      const waitMs = typeof openWait === "number" ? openWait : openWait(openings);
      openUntil = now + waitMs;
      if (autoHalfOpen) {
        const at = generation;
        timer = clock.setTimeout(() => {
          timer = undefined;
          if (generation === at) transition("half-open", clock.now());
        }, waitMs);
      }
    } else if (to === "half-open") {
      halfOpenWindow.reset();
      halfOpenPermits = permitted;
      if (maxWaitInHalfOpenMs > 0) {
        const at = generation;
        timer = clock.setTimeout(() => {
          timer = undefined;
          if (generation === at) transition("open", clock.now());
        }, maxWaitInHalfOpenMs);
      }
    } else {
      if (to === "closed" || to === "metrics-only") closedWindow.reset();
      if (to === "closed") openings = 0;
    }
    onStateChange?.({ from, to });
  }

  /** `true` when the rates of `window` reach a threshold (inclusive), given enough calls. */
  function exceeded(window: SlidingWindow, minimum: number): boolean | undefined {
    const { calls, failures, slow } = window.totals;
    if (calls < minimum) return undefined;
    // Integer comparisons: exactly reaching a threshold opens, without float rounding.
    return (
      failures * 100 >= failureRateThreshold * calls || slow * 100 >= slowCallRateThreshold * calls
    );
  }

  /** A permit (the generation it was granted in), or -1 when the call is not permitted. */
  function acquire(now: number): number {
    switch (state) {
      case "closed":
      case "metrics-only":
      case "disabled":
        return generation;
      case "open":
        // Strictly after the wait, as Resilience4j: at `openUntil` itself the circuit is still open.
        if (now <= openUntil) return -1;
        transition("half-open", now);
        halfOpenPermits--;
        return generation;
      case "half-open":
        if (halfOpenPermits <= 0) return -1;
        halfOpenPermits--;
        return generation;
      case "forced-open":
        return -1;
    }
  }

  function record(permit: number, outcome: number, now: number): void {
    if (permit !== generation) return;
    if (state === "closed" || state === "metrics-only") {
      closedWindow.record(outcome, now);
      if (state === "closed" && exceeded(closedWindow, minimumCalls) === true) {
        transition("open", now);
      }
    } else if (state === "half-open") {
      halfOpenWindow.record(outcome, now);
      const verdict = exceeded(halfOpenWindow, permitted);
      if (verdict !== undefined) transition(verdict ? "open" : "closed", now);
    }
  }

  function ignored(permit: number): void {
    if (permit === generation && state === "half-open") halfOpenPermits++;
  }

  function rejectError(now: number): PlexusError {
    notPermitted++;
    // At least 1 ms: a retry at exactly `openUntil` would be refused again.
    const retryAfterMs = state === "open" ? Math.max(1, openUntil - now) : undefined;
    onReject?.({ state, retryAfterMs });
    return rejection("circuit-open", `circuit ${state}: call not permitted`, retryAfterMs);
  }

  const core: BreakerCore = {
    acquire,
    rejectError,
    get disabled() {
      return state === "disabled";
    },
    succeeded(permit, start, result) {
      if (permit !== generation) return;
      const now = clock.now();
      const slow = now - start > slowMs ? outcomeSlow : 0;
      const failed = isFailureResult !== undefined && isFailureResult(result) ? outcomeFailure : 0;
      record(permit, failed | slow, now);
    },
    failed(permit, start, error) {
      if (permit !== generation) return;
      if (isIgnored(error)) {
        ignored(permit);
        return;
      }
      const now = clock.now();
      const slow = now - start > slowMs ? outcomeSlow : 0;
      record(permit, (isFailure(error) ? outcomeFailure : 0) | slow, now);
    },
  };

  async function track<T>(promise: Promise<T>, permit: number, start: number): Promise<T> {
    let result: T;
    try {
      result = await promise;
    } catch (error) {
      core.failed(permit, start, error);
      throw error;
    }
    core.succeeded(permit, start, result);
    return result;
  }

  const breaker: CircuitBreaker = {
    [breakerCore]: core,
    get state() {
      // An open circuit whose wait ended reports half-open only once a call moves it there.
      return state;
    },
    execute<T>(fn: Operation<T>, execOptions?: ExecuteOptions | AbortSignal): Promise<T> {
      return executeWith(breaker, fn, execOptions);
    },
    run<T>(next: Next, fn: Operation<T>, context: PolicyContext): Promise<T> {
      const now = clock.now();
      const permit = acquire(now);
      if (permit < 0) return Promise.reject(rejectError(now));
      if (state === "disabled") return next.run(fn, context);
      let promise: Promise<T>;
      try {
        promise = next.run(fn, context);
      } catch (error) {
        promise = rejectedWith(error);
      }
      return track(promise, permit, now);
    },
    metrics() {
      const window = state === "half-open" ? halfOpenWindow : closedWindow;
      window.advance(clock.now());
      const { calls, failures, slow } = window.totals;
      const minimum = state === "half-open" ? permitted : minimumCalls;
      const enough = calls >= minimum && calls > 0;
      return {
        state,
        calls,
        failedCalls: failures,
        slowCalls: slow,
        failureRate: enough ? (failures * 100) / calls : -1,
        slowCallRate: enough ? (slow * 100) / calls : -1,
        notPermittedCalls: notPermitted,
      };
    },
    transitionTo(to) {
      if (to !== state) transition(to, clock.now());
    },
    reset() {
      clearTimer();
      notPermitted = 0;
      closedWindow.reset();
      if (state !== "closed") transition("closed", clock.now());
      else generation++;
    },
    [Symbol.dispose]() {
      clearTimer();
    },
  };
  return breaker;
}
