import { rejectedWith, systemClock, type Clock } from "@plexus/core";
import {
  breakerCore,
  createBreakerCore,
  type BreakerCore,
  type CircuitRejectEvent,
} from "./breaker-core.ts";
import { CallRates, type SlidingWindowOptions, type WindowRates } from "./call-rates.ts";
import {
  CircuitStateMachine,
  type CircuitState,
  type StateChangeEvent,
} from "./circuit-state-machine.ts";
import { HalfOpenTrial } from "./half-open-trial.ts";
import { isCalleeFailure, isIgnoredByDefault } from "./is-callee-failure.ts";
import { OpenWait } from "./open-wait.ts";
import { withState, type Policy } from "./policy.ts";

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
export interface CircuitMetrics extends WindowRates {
  readonly state: CircuitState;
  readonly notPermittedCalls: number;
}

export type CircuitBreaker = Policy & Disposable & CircuitBreakerState;

/** What a circuit breaker shows besides being a policy. */
export interface CircuitBreakerState {
  readonly [breakerCore]: BreakerCore;
  readonly state: CircuitState;
  metrics(): CircuitMetrics;
  /** Moves to any state by hand (e.g. `forced-open` for maintenance, `disabled` in an incident). */
  transitionTo(state: CircuitState): void;
  /** Back to `closed` with empty metrics. */
  reset(): void;
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
  const rates = new CallRates(options);
  const trial = new HalfOpenTrial(options.permittedCallsInHalfOpen ?? 10);
  const openWait = new OpenWait(options.openWaitMs ?? 60_000);
  const machine = new CircuitStateMachine({
    clock,
    openWait,
    trial,
    automaticTransitionToHalfOpen: options.automaticTransitionToHalfOpen ?? false,
    maxWaitInHalfOpenMs: options.maxWaitInHalfOpenMs ?? 0,
    resetClosedWindow: () => rates.closed.reset(),
    onStateChange: options.onStateChange,
  });
  const core = createBreakerCore({
    clock,
    machine,
    rates,
    trial,
    openWait,
    slowCallDurationThresholdMs: options.slowCallDurationThresholdMs ?? 60_000,
    isFailure: options.isFailure ?? isCalleeFailure,
    isIgnored: options.isIgnored ?? isIgnoredByDefault,
    isFailureResult: options.isFailureResult,
    onReject: options.onReject,
  });

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

  const breaker: Policy = (next) =>
    function circuitBreaker(attempt) {
      const now = clock.now();
      const permit = core.acquire(now);
      if (permit < 0) return Promise.reject(core.rejectError(now));
      if (core.disabled) return next(attempt);
      let promise: Promise<unknown>;
      try {
        promise = next(attempt);
      } catch (error) {
        promise = rejectedWith(error);
      }
      return track(promise, permit, now);
    };
  const state: CircuitBreakerState & Disposable = {
    [breakerCore]: core,
    get state() {
      // An open circuit whose wait ended reports half-open only once a call moves it there.
      return machine.state;
    },
    metrics() {
      const state = machine.state;
      const counts =
        state === "half-open"
          ? rates.of(trial.window, trial.permitted, clock.now())
          : rates.of(rates.closed, rates.minimumCalls, clock.now());
      return { state, ...counts, notPermittedCalls: core.notPermitted };
    },
    transitionTo(to) {
      if (to !== machine.state) machine.transition(to, clock.now());
    },
    reset() {
      machine.clearTimer();
      core.notPermitted = 0;
      rates.closed.reset();
      machine.reset(clock.now());
    },
    [Symbol.dispose]() {
      machine.clearTimer();
    },
  };
  return withState(breaker, state);
}
