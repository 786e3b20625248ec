import type { Logger } from "@plexus/core";
import { toErrorRecord } from "./error-record.ts";
import type { ExecutionEnv } from "./execution-env.ts";
import type { SagaDefinition } from "./saga-definition.ts";
import { isConflict } from "./saga-errors.ts";
import { SagaFinisher, type StepResult } from "./saga-finisher.ts";
import type { SagaRecord } from "./saga-record.ts";
import { SagaStatus } from "./saga-status.ts";
import { sagaTimeline } from "./saga-timeline.ts";
import type { SagaFailure } from "./saga-view.ts";
import { SagaWriter, StopExecution } from "./saga-writer.ts";
import { StepRunner } from "./step-runner.ts";
import { StepTries } from "./step-tries.ts";

/**
 * Executes one claimed saga until it finishes, parks, or has to stop (closing, lease lost, the
 * database failing): actions forward while RUNNING, compensations backward while COMPENSATING.
 * State is persisted before and after every try; whatever it stops at, the persisted state is a
 * correct place to resume from.
 */
export class SagaExecution {
  readonly #env: ExecutionEnv;
  readonly #logger: Logger;
  readonly #writer: SagaWriter;
  readonly #tries: StepTries;
  readonly #runner: StepRunner;
  readonly #finisher: SagaFinisher;
  /** Claimed right after its insert: no tries were logged, none can be open. */
  readonly #fresh: boolean;

  constructor(env: ExecutionEnv, record: SagaRecord, fresh = false) {
    this.#env = env;
    this.#fresh = fresh;
    this.#logger = env.logger.child({ sagaId: record.id, sagaType: record.type });
    this.#writer = new SagaWriter(env, record);
    this.#tries = new StepTries(record.id);
    this.#runner = new StepRunner(env, this.#writer, this.#tries, this.#logger);
    this.#finisher = new SagaFinisher(env, this.#writer, this.#logger);
  }

  /** True while the saga is RUNNING or COMPENSATING in memory (not finished, not parked). */
  get active(): boolean {
    const { status } = this.#writer.record;
    return status === SagaStatus.Running || status === SagaStatus.Compensating;
  }

  /** Runs to a stop. Never throws: failures are logged and leave a resumable state. */
  async run(): Promise<void> {
    try {
      await this.#run();
    } catch (error) {
      if (error instanceof StopExecution) return;
      if (isConflict(error)) {
        this.#logger.warn("saga taken over by another executor; stopping here");
        return;
      }
      this.#logger.error(
        { err: error },
        "saga execution stopped by an error; it resumes once its lease is free",
      );
    }
  }

  async #run(): Promise<void> {
    const rec = this.#writer.record;
    if (!this.#fresh) await this.#resume();
    const definition = this.#env.sagas.definition(rec.type);
    if (!definition) {
      const unknown = this.#finisher.interruption(`unknown saga type "${rec.type}"`);
      await this.#finisher.park(undefined, unknown);
      return;
    }
    const count = definition.steps.length;
    if (
      rec.stepIndex > count ||
      (rec.status === SagaStatus.Compensating && rec.stepIndex >= count)
    ) {
      await this.#finisher.park(
        definition,
        this.#finisher.interruption(
          `step ${rec.stepIndex} does not exist in "${rec.type}" (${count} steps)`,
        ),
      );
      return;
    }
    for (;;) {
      if (this.#env.stopping.aborted && !this.#tries.hasAhead) return;
      const goOn =
        rec.status === SagaStatus.Running
          ? await this.#forward(definition)
          : rec.status === SagaStatus.Compensating
            ? await this.#backward(definition)
            : false;
      if (!goOn) return;
    }
  }

  /** Picks up after another execution: its open tries were interrupted, numbering goes on. */
  async #resume(): Promise<void> {
    const writer = this.#writer;
    const id = writer.record.id;
    const interrupted = await writer.sql((db) =>
      sagaTimeline.interruptOpenAttempts(db, id, writer.now()),
    );
    if (interrupted > 0) {
      this.#logger.info({ interrupted }, "resuming saga; tries left open were interrupted");
    }
    this.#tries.load(await writer.sql((db) => sagaTimeline.attemptCounts(db, id)));
  }

  /** Runs the next action; returns whether to go on. */
  async #forward(definition: SagaDefinition): Promise<boolean> {
    const rec = this.#writer.record;
    const index = rec.stepIndex;
    const step = definition.steps[index];
    if (!step) {
      await this.#finisher.finish(definition, SagaStatus.Completed);
      return false;
    }
    const result = await this.#runner.run(step, index, "action");
    if (result.kind === "stopped") return false;
    const now = this.#writer.now();
    if (result.kind === "succeeded") {
      const done: StepResult = {
        patch: { outputs: { ...rec.outputs, [step.name]: result.output }, stepIndex: index + 1 },
        extra: (tx) => sagaTimeline.finishAttempt(tx, result.attemptId, "SUCCEEDED", null, now),
        keepOnStop: true,
      };
      const nextStep = definition.steps[index + 1];
      if (!nextStep) {
        // The last step's result and the completion are written in one transaction.
        await this.#finisher.finish(definition, SagaStatus.Completed, index + 1, done);
        return false;
      }
      const startNext = this.#env.stopping.aborted
        ? undefined
        : this.#tries.start(nextStep, index + 1, "action", now);
      await this.#writer.commit(done.patch, { before: done.extra, after: startNext?.write });
      this.#tries.startedAhead(startNext?.committed());
      return true;
    }
    const record = toErrorRecord(result.error);
    const failure: SagaFailure = {
      ...record,
      step: step.name,
      stepIndex: index,
      phase: "action",
      kind: result.failureKind,
    };
    const undoSelf = result.failureKind !== "business" && step.compensateOnFailure !== false;
    this.#logger.warn(
      { step: step.name, failure: failure.kind, reason: failure.reason },
      "saga step failed; compensating",
    );
    await this.#writer.commit(
      {
        status: SagaStatus.Compensating,
        stepIndex: undoSelf ? index : index - 1,
        failure,
        failureReason: failure.reason,
      },
      { before: (tx) => sagaTimeline.finishAttempt(tx, result.attemptId, "FAILED", record, now) },
    );
    return true;
  }

  /** Runs the next compensation (steps without one are skipped); returns whether to go on. */
  async #backward(definition: SagaDefinition): Promise<boolean> {
    let index = this.#writer.record.stepIndex;
    while (index >= 0 && !definition.steps[index]?.compensation) index--;
    const step = definition.steps[index];
    if (index < 0 || !step) {
      // Steps without a compensation were skipped: nothing is left to undo.
      await this.#finisher.finish(definition, SagaStatus.Compensated, -1);
      return false;
    }
    const result = await this.#runner.run(step, index, "compensation");
    if (result.kind === "stopped") return false;
    const now = this.#writer.now();
    if (result.kind === "succeeded") {
      await this.#writer.commit(
        { stepIndex: index - 1 },
        {
          before: (tx) => sagaTimeline.finishAttempt(tx, result.attemptId, "SUCCEEDED", null, now),
        },
      );
      return true;
    }
    const record = toErrorRecord(result.error);
    this.#logger.error(
      { step: step.name, reason: record.reason, message: record.message },
      "saga compensation keeps failing; parking the saga as NEEDS_ATTENTION",
    );
    await this.#finisher.park(
      definition,
      {
        ...record,
        step: step.name,
        stepIndex: index,
        phase: "compensation",
        kind: result.failureKind,
      },
      {
        patch: { stepIndex: index },
        extra: (tx) => sagaTimeline.finishAttempt(tx, result.attemptId, "FAILED", record, now),
        keepOnStop: false,
      },
    );
    return false;
  }
}
