import type { Sql } from "@plexus/core";
import { idempotencyKeyOf, type SagaStep } from "./saga-definition.ts";
import { sagaTimeline } from "./saga-timeline.ts";
import type { StepPhase } from "./saga-view.ts";

/** A try logged as started, about to run. */
export interface StartedTry {
  readonly index: number;
  readonly phase: StepPhase;
  /** 1 for the first try of this half-step, counted across executions. */
  readonly attempt: number;
  /** Its row in the timeline, where its outcome is written. */
  readonly attemptId: number;
}

/** The start of a try, to write in a transaction that also guards the saga. */
export interface TryStart {
  readonly write: (tx: Sql) => Promise<void>;
  /** Counts the try once the transaction committed, and returns it. */
  readonly committed: () => StartedTry;
}

/**
 * The numbering of one saga's tries in an execution: how many each half-step had (loaded once
 * when resuming, so numbers go on across executions), and the next try when it was logged ahead.
 */
export class StepTries {
  readonly #sagaId: string;
  /** Tries logged so far per half-step (`${index}:${phase}`). */
  #counts = new Map<string, number>();
  /**
   * The next try, already logged as started in the transaction that stored the previous step's
   * result (one transaction per step instead of two): it runs even if closing began meanwhile,
   * as any try in flight does.
   */
  #ahead: StartedTry | undefined;

  constructor(sagaId: string) {
    this.#sagaId = sagaId;
  }

  /** Resuming: the counts every earlier execution logged. */
  load(counts: Map<string, number>): void {
    this.#counts = counts;
  }

  /** Logs the start of the next try of a half-step (see {@link TryStart}). */
  start(step: SagaStep, index: number, phase: StepPhase, now: number): TryStart {
    const countKey = `${index}:${phase}`;
    const attempt = (this.#counts.get(countKey) ?? 0) + 1;
    let attemptId: number | undefined;
    return {
      write: async (tx) => {
        attemptId = await sagaTimeline.startAttempt(tx, {
          sagaId: this.#sagaId,
          step: step.name,
          stepIndex: index,
          phase,
          attempt,
          idempotencyKey: idempotencyKeyOf(this.#sagaId, step.name, phase),
          now,
        });
      },
      committed: () => {
        if (attemptId === undefined) throw new Error("the try's start was not written");
        this.#counts.set(countKey, attempt);
        return { index, phase, attempt, attemptId };
      },
    };
  }

  /** Keeps a try logged ahead, for the half-step it belongs to. */
  startedAhead(started: StartedTry | undefined): void {
    this.#ahead = started;
  }

  /** Whether a try logged ahead still has to run. */
  get hasAhead(): boolean {
    return this.#ahead !== undefined;
  }

  /** The try logged ahead, if it is the one of this half-step (it is used once). */
  takeAhead(index: number, phase: StepPhase): StartedTry | undefined {
    const ahead = this.#ahead;
    this.#ahead = undefined;
    return ahead?.index === index && ahead.phase === phase ? ahead : undefined;
  }
}
