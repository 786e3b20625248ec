import type { Clock, PlexusError } from "@plexus/core";
import type { CallRates } from "./call-rates.ts";
import type { CircuitState, CircuitStateMachine } from "./circuit-state-machine.ts";
import { rejection } from "./errors.ts";
import type { HalfOpenTrial } from "./half-open-trial.ts";
import type { OpenWait } from "./open-wait.ts";
import { outcomeFailure, outcomeSlow } from "./sliding-window.ts";

export interface CircuitRejectEvent {
  readonly state: CircuitState;
  /** When the circuit may let calls through again (`undefined`: unknown). */
  readonly retryAfterMs: number | undefined;
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

/** What the core decides with (see `CircuitBreakerOptions` for the settings). */
export interface BreakerCoreOptions {
  clock: Clock;
  machine: CircuitStateMachine;
  rates: CallRates;
  trial: HalfOpenTrial;
  openWait: OpenWait;
  slowCallDurationThresholdMs: number;
  isFailure: (error: unknown) => boolean;
  isIgnored: (error: unknown) => boolean;
  isFailureResult: ((result: unknown) => boolean) | undefined;
  onReject: ((event: CircuitRejectEvent) => void) | undefined;
}

/** The core, and the count of the calls it refused (for metrics). */
export interface CountingBreakerCore extends BreakerCore {
  notPermitted: number;
}

/**
 * Turns each call's outcome into a window entry (failed, slow, both, or ignored) and the state
 * change it calls for: while closed, the closed window's rates; while half-open, the trial's.
 */
export function createBreakerCore(options: BreakerCoreOptions): CountingBreakerCore {
  const { clock, machine, rates, trial, openWait, isFailure, isIgnored, isFailureResult } = options;
  const slowMs = options.slowCallDurationThresholdMs;

  function record(permit: number, outcome: number, now: number): void {
    if (permit !== machine.generation) return;
    const state = machine.state;
    if (state === "closed" || state === "metrics-only") {
      rates.closed.record(outcome, now);
      if (state === "closed" && rates.exceeded(rates.closed, rates.minimumCalls) === true) {
        machine.transition("open", now);
      }
    } else if (state === "half-open") {
      trial.window.record(outcome, now);
      const verdict = rates.exceeded(trial.window, trial.permitted);
      if (verdict !== undefined) machine.transition(verdict ? "open" : "closed", now);
    }
  }

  const core: CountingBreakerCore = {
    notPermitted: 0,
    acquire: (now) => machine.acquire(now),
    rejectError(now) {
      core.notPermitted++;
      const state = machine.state;
      const retryAfterMs = state === "open" ? openWait.retryAfterMs(now) : undefined;
      options.onReject?.({ state, retryAfterMs });
      return rejection("circuit-open", `circuit ${state}: call not permitted`, retryAfterMs);
    },
    get disabled() {
      return machine.state === "disabled";
    },
    succeeded(permit, start, result) {
      if (permit !== machine.generation) return;
      const now = clock.now();
      const slow = now - start > slowMs ? outcomeSlow : 0;
      const failed = isFailureResult !== undefined && isFailureResult(result) ? outcomeFailure : 0;
      record(permit, failed | slow, now);
    },
    failed(permit, start, error) {
      if (permit !== machine.generation) return;
      if (isIgnored(error)) {
        if (machine.state === "half-open") trial.giveBack();
        return;
      }
      const now = clock.now();
      const slow = now - start > slowMs ? outcomeSlow : 0;
      record(permit, (isFailure(error) ? outcomeFailure : 0) | slow, now);
    },
  };
  return core;
}
