import { Code, PlexusError, retryAfterMsOf, type Logger, type Sql } from "@plexus/core";
import { toErrorRecord } from "./error-record.ts";
import type { ExecutionEnv } from "./execution-env.ts";
import { isRetryableBy, scheduleRetries, waitToRetry } from "./retry-policy.ts";
import type { SagaDefinition } from "./saga-definition.ts";
import { isConflict } from "./saga-errors.ts";
import type { SagaRecord } from "./saga-record.ts";
import { SagaStatus, type ActiveSagaStatus } from "./saga-status.ts";
import type { SagaFailure } from "./saga-view.ts";
import { StopExecution, type FinishHook, type SagaWriter } from "./saga-writer.ts";

/** The last try's result, not written yet: written with the final (or parked) state. */
export interface StepResult {
  /** What it changes in the saga. */
  readonly patch: Partial<SagaRecord>;
  /** The try's outcome. */
  readonly extra: (tx: Sql) => Promise<void>;
  /**
   * Written alone when closing cuts a finish retry short, so the resume point is the finish, not
   * the step again (a succeeded last step).
   */
  readonly keepOnStop: boolean;
}

type FinalStatus =
  typeof SagaStatus.Completed | typeof SagaStatus.Compensated | typeof SagaStatus.NeedsAttention;

/**
 * Writes a saga's final state (COMPLETED, COMPENSATED) or parks it (NEEDS_ATTENTION), with the
 * matching finish hooks in the same transaction, retried under `finishRetry`. A finish that keeps
 * failing parks the saga; a park whose hooks keep failing is written without them.
 */
export class SagaFinisher {
  readonly #env: ExecutionEnv;
  readonly #writer: SagaWriter;
  readonly #logger: Logger;

  constructor(env: ExecutionEnv, writer: SagaWriter, logger: Logger) {
    this.#env = env;
    this.#writer = writer;
    this.#logger = logger;
  }

  /** Finishes the saga (COMPLETED/COMPENSATED) with its hooks, in one transaction per try. */
  async finish(
    definition: SagaDefinition,
    status: typeof SagaStatus.Completed | typeof SagaStatus.Compensated,
    stepIndex = this.#writer.record.stepIndex,
    result?: StepResult,
  ): Promise<void> {
    const error = await this.#settle(
      definition,
      { ...result?.patch, status, stepIndex },
      result,
      true,
    );
    if (error === undefined) return;
    await this.park(
      definition,
      this.interruption("a finish hook kept failing", error, stepIndex),
      result,
    );
  }

  /**
   * Parks the saga as NEEDS_ATTENTION, remembering where `retry` continues. Tries with the
   * onNeedsAttention hooks first; when they keep failing, parks without them (an alert lost is
   * better than a saga lost: it stays visible as NEEDS_ATTENTION in the admin API).
   */
  async park(
    definition: SagaDefinition | undefined,
    attention: SagaFailure,
    result?: StepResult,
  ): Promise<void> {
    const resumeStatus: ActiveSagaStatus =
      this.#writer.record.status === SagaStatus.Compensating
        ? SagaStatus.Compensating
        : SagaStatus.Running;
    const parked: Partial<SagaRecord> & { status: FinalStatus } = {
      ...result?.patch,
      status: SagaStatus.NeedsAttention,
      resumeStatus,
      attention,
    };
    const error = await this.#settle(definition, parked, result, true);
    if (error === undefined) return;
    this.#logger.error({ err: error }, "onNeedsAttention hook kept failing; parking without it");
    await this.#settle(undefined, parked, result, false);
  }

  /** Why a saga is parked when nothing a step did is the cause (an unknown type, a hook). */
  interruption(
    message: string,
    cause?: unknown,
    stepIndex = this.#writer.record.stepIndex,
  ): SagaFailure {
    const rec = this.#writer.record;
    const record = toErrorRecord(
      cause === undefined
        ? new PlexusError(Code.FailedPrecondition, message)
        : new PlexusError(Code.Internal, message, { cause }),
    );
    const step = this.#env.sagas.definition(rec.type)?.steps[stepIndex]?.name ?? "";
    return { ...record, step, stepIndex, phase: "finish", kind: "interrupted" };
  }

  /**
   * Writes a final (or parked) state, running the matching hooks in the same transaction, retried
   * under `finishRetry`. Returns undefined on success, or the last error when tries ran out
   * (or the orchestrator is stopping).
   */
  async #settle(
    definition: SagaDefinition | undefined,
    patch: Partial<SagaRecord> & { status: FinalStatus },
    result: StepResult | undefined,
    withHooks: boolean,
  ): Promise<unknown> {
    const env = this.#env;
    const writer = this.#writer;
    const policy = env.finishRetry;
    const hooks = withHooks ? this.#hooksFor(definition, patch.status) : [];
    const schedule = scheduleRetries(policy, env.random);
    for (;;) {
      try {
        await writer.commit(
          { ...patch, leaseOwner: null, leaseUntil: null },
          { before: result?.extra, hooks, final: true },
        );
        this.#logger.info(
          { status: patch.status, failureReason: writer.record.failureReason },
          "saga settled",
        );
        env.settled(writer.record.id);
        return undefined;
      } catch (error) {
        if (error instanceof StopExecution || isConflict(error)) throw error;
        const plexus = PlexusError.from(error);
        if (!isRetryableBy(policy, plexus, this.#logger)) return error;
        const next = schedule.next(retryAfterMsOf(plexus));
        if (!next.retry) return error;
        this.#logger.warn({ err: error, status: patch.status }, "saga finish failed; retrying");
        if (!(await waitToRetry(next.delayMs, env.stopping, env.clock))) {
          // Closing: the state written last is the resume point, with the step's result in it.
          if (result?.keepOnStop) {
            await writer.commit(result.patch, { before: result.extra }).catch((commitError) => {
              this.#logger.warn({ err: commitError }, "could not write the step's result");
            });
          }
          throw new StopExecution();
        }
      }
    }
  }

  #hooksFor(definition: SagaDefinition | undefined, status: FinalStatus): FinishHook[] {
    const name =
      status === SagaStatus.Completed
        ? "onCompleted"
        : status === SagaStatus.Compensated
          ? "onCompensated"
          : "onNeedsAttention";
    const hooks: FinishHook[] = [];
    for (const holder of [definition, this.#env.hooks]) {
      const hook: FinishHook | undefined = holder?.[name];
      if (hook) hooks.push(hook.bind(holder));
    }
    return hooks;
  }
}
