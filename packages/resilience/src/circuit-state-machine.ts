import type { Clock, TimerHandle } from "@plexus/core";
import type { HalfOpenTrial } from "./half-open-trial.ts";
import type { OpenWait } from "./open-wait.ts";

/**
 * Resilience4j's states: the three of the state machine, and three special ones that only an
 * explicit {@link CircuitBreaker.transitionTo} enters or leaves — `disabled` (always permit, no
 * metrics), `metrics-only` (always permit, record metrics and events, never transition) and
 * `forced-open` (always reject).
 */
export type CircuitState =
  "closed" | "open" | "half-open" | "disabled" | "metrics-only" | "forced-open";

export interface StateChangeEvent {
  readonly from: CircuitState;
  readonly to: CircuitState;
}

/** What the state machine drives (see `CircuitBreakerOptions` for the settings). */
export interface CircuitStateMachineOptions {
  clock: Clock;
  openWait: OpenWait;
  trial: HalfOpenTrial;
  automaticTransitionToHalfOpen: boolean;
  maxWaitInHalfOpenMs: number;
  /** Empties the closed window (on entering `closed` or `metrics-only`). */
  resetClosedWindow: () => void;
  onStateChange: ((event: StateChangeEvent) => void) | undefined;
}

/**
 * The breaker's states, their transitions and timers, and the permits they grant. Every
 * transition starts a new generation: a permit is the generation it was granted in, and is only
 * good for that one.
 */
export class CircuitStateMachine {
  state: CircuitState = "closed";
  /** Incremented on every transition: a permit is only good for the state it was granted in. */
  generation = 0;
  private timer: TimerHandle = undefined;
  private readonly options: CircuitStateMachineOptions;

  constructor(options: CircuitStateMachineOptions) {
    this.options = options;
  }

  clearTimer(): void {
    if (this.timer !== undefined) {
      this.options.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  transition(to: CircuitState, now: number): void {
    const { openWait, trial } = this.options;
    const from = this.state;
    this.clearTimer();
    this.state = to;
    this.generation++;
    if (to === "open") {
      const waitMs = openWait.begin(now);
      if (this.options.automaticTransitionToHalfOpen) this.after(waitMs, "half-open");
    } else if (to === "half-open") {
      trial.begin();
      const { maxWaitInHalfOpenMs } = this.options;
      if (maxWaitInHalfOpenMs > 0) this.after(maxWaitInHalfOpenMs, "open");
    } else {
      if (to === "closed" || to === "metrics-only") this.options.resetClosedWindow();
      if (to === "closed") openWait.reset();
    }
    this.options.onStateChange?.({ from, to });
  }

  /** Moves to `to` after `delayMs`, unless another transition came first. */
  private after(delayMs: number, to: CircuitState): void {
    const { clock } = this.options;
    const at = this.generation;
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      if (this.generation === at) this.transition(to, clock.now());
    }, delayMs);
  }

  /** A permit (the generation it was granted in), or -1 when the call is not permitted. */
  acquire(now: number): number {
    switch (this.state) {
      case "closed":
      case "metrics-only":
      case "disabled":
        return this.generation;
      case "open":
        if (!this.options.openWait.isOver(now)) return -1;
        this.transition("half-open", now);
        this.options.trial.take();
        return this.generation;
      case "half-open":
        return this.options.trial.take() ? this.generation : -1;
      case "forced-open":
        return -1;
    }
  }

  /** Back to `closed`; permits granted before are void even if it already was. */
  reset(now: number): void {
    if (this.state !== "closed") this.transition("closed", now);
    else {
      this.clearTimer();
      this.generation++;
    }
  }
}
