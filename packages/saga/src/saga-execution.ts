import {
  Code,
  PlexusError,
  childTraceparent,
  newRequestId,
  retryAfterMsOf,
  runInContext,
  sleep,
  type CallContext,
  type Db,
  type Logger,
  type SagaStepSpan,
  type Sql,
  type TraceParent,
} from "@plexus/core";
import { toErrorRecord } from "./error-record.ts";
import { scheduleRetries, type RetryPolicy } from "./retry-policy.ts";
import {
  idempotencyKeyOf,
  type SagaDefinition,
  type SagaFinishedEvent,
  type SagaStep,
  type StepContext,
} from "./saga-definition.ts";
import { SagaStatus, type ActiveSagaStatus } from "./saga-status.ts";
import type { ExecutionEnv } from "./execution-env.ts";
import { isConflict } from "./saga-errors.ts";
import { toView, type SagaRecord } from "./saga-record.ts";
import { sagaStore } from "./saga-store.ts";
import type { FailureKind, SagaFailure, StepPhase } from "./saga-view.ts";
import { runStepAttempt, type AttemptResult } from "./step-attempt.ts";

type HalfResult =
  | { readonly kind: "succeeded"; readonly output: unknown; readonly attemptId: number }
  | {
      readonly kind: "failed";
      readonly failureKind: FailureKind;
      readonly error: unknown;
      readonly attemptId: number;
    }
  | { readonly kind: "stopped" };

type Hook = (event: SagaFinishedEvent) => Promise<void>;

/** A step's result not written yet: written with whatever the saga writes next. */
interface StepResult {
  readonly patch: Partial<SagaRecord>;
  readonly extra: (tx: Sql) => Promise<void>;
}

interface StartedTry {
  readonly index: number;
  readonly phase: StepPhase;
  readonly attempt: number;
  readonly attemptId: number;
}

type FinalStatus =
  typeof SagaStatus.Completed | typeof SagaStatus.Compensated | typeof SagaStatus.NeedsAttention;

/**
 * Thrown inside an execution to unwind it quietly: the orchestrator abandoned it (no more
 * writes), or it is closing in the middle of a finish retry (the last write is the resume point).
 */
class StopExecution extends Error {
  override readonly name = "StopExecution";
}

/**
 * Executes one claimed saga until it finishes, parks, or has to stop (closing, lease lost, the
 * database failing). State is persisted before and after every try; whatever it stops at, the
 * persisted state is a correct place to resume from.
 */
export class SagaExecution {
  readonly #env: ExecutionEnv;
  readonly #rec: SagaRecord;
  readonly #logger: Logger;
  /** Tries logged so far per half-step, loaded once per execution (numbering goes on). */
  #attempts = new Map<string, number>();
  /**
   * The next try, already logged as started in the transaction that stored the previous step's
   * result (one transaction per step instead of two): it runs even if closing began meanwhile,
   * as any try in flight does.
   */
  #started: StartedTry | undefined;

  /** Claimed right after its insert: no tries were logged, none can be open. */
  readonly #fresh: boolean;

  constructor(env: ExecutionEnv, record: SagaRecord, fresh = false) {
    this.#env = env;
    this.#rec = record;
    this.#fresh = fresh;
    this.#logger = env.logger.child({ sagaId: record.id, sagaType: record.type });
  }

  /** True while the saga is RUNNING or COMPENSATING in memory (not finished, not parked). */
  get active(): boolean {
    return this.#rec.status === SagaStatus.Running || this.#rec.status === SagaStatus.Compensating;
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
    const rec = this.#rec;
    if (!this.#fresh) {
      const interrupted = await this.#sql((db) =>
        sagaStore.interruptOpenAttempts(db, rec.id, this.#now()),
      );
      if (interrupted > 0) {
        this.#logger.info({ interrupted }, "resuming saga; tries left open were interrupted");
      }
      this.#attempts = await this.#sql((db) => sagaStore.attemptCounts(db, rec.id));
    }
    const definition = this.#env.sagas.definition(rec.type);
    if (!definition) {
      await this.#park(undefined, this.#interruption(`unknown saga type "${rec.type}"`));
      return;
    }
    const count = definition.steps.length;
    if (
      rec.stepIndex > count ||
      (rec.status === SagaStatus.Compensating && rec.stepIndex >= count)
    ) {
      await this.#park(
        definition,
        this.#interruption(
          `step ${rec.stepIndex} does not exist in "${rec.type}" (${count} steps)`,
        ),
      );
      return;
    }
    for (;;) {
      if (this.#env.stopping.aborted && this.#started === undefined) return;
      const goOn =
        rec.status === SagaStatus.Running
          ? await this.#forward(definition)
          : rec.status === SagaStatus.Compensating
            ? await this.#backward(definition)
            : false;
      if (!goOn) return;
    }
  }

  /** Runs the next action; returns whether to go on. */
  async #forward(definition: SagaDefinition): Promise<boolean> {
    const rec = this.#rec;
    const index = rec.stepIndex;
    const step = definition.steps[index];
    if (!step) {
      await this.#finish(definition, SagaStatus.Completed);
      return false;
    }
    const result = await this.#runHalf(step, index, "action");
    if (result.kind === "stopped") return false;
    const now = this.#now();
    if (result.kind === "succeeded") {
      const done: StepResult = {
        patch: { outputs: { ...rec.outputs, [step.name]: result.output }, stepIndex: index + 1 },
        extra: (tx) => sagaStore.finishAttempt(tx, result.attemptId, "SUCCEEDED", null, now),
      };
      const nextStep = definition.steps[index + 1];
      if (!nextStep) {
        // The last step's result and the completion are written in one transaction.
        await this.#finish(definition, SagaStatus.Completed, index + 1, done);
        return false;
      }
      const startNext = this.#env.stopping.aborted
        ? undefined
        : this.#tryStarter(nextStep, index + 1, "action", now);
      await this.#commit(done.patch, done.extra, [], false, startNext?.write);
      this.#started = startNext?.committed();
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
    await this.#commit(
      {
        status: SagaStatus.Compensating,
        stepIndex: undoSelf ? index : index - 1,
        failure,
        failureReason: failure.reason,
      },
      (tx) => sagaStore.finishAttempt(tx, result.attemptId, "FAILED", record, now),
    );
    return true;
  }

  /** Runs the next compensation (steps without one are skipped); returns whether to go on. */
  async #backward(definition: SagaDefinition): Promise<boolean> {
    const rec = this.#rec;
    let index = rec.stepIndex;
    while (index >= 0 && !definition.steps[index]?.compensation) index--;
    const step = definition.steps[index];
    if (index < 0 || !step) {
      // Steps without a compensation were skipped: nothing is left to undo.
      await this.#finish(definition, SagaStatus.Compensated, -1);
      return false;
    }
    const result = await this.#runHalf(step, index, "compensation");
    if (result.kind === "stopped") return false;
    const now = this.#now();
    if (result.kind === "succeeded") {
      await this.#commit({ stepIndex: index - 1 }, (tx) =>
        sagaStore.finishAttempt(tx, result.attemptId, "SUCCEEDED", null, now),
      );
      return true;
    }
    const record = toErrorRecord(result.error);
    this.#logger.error(
      { step: step.name, reason: record.reason, message: record.message },
      "saga compensation keeps failing; parking the saga as NEEDS_ATTENTION",
    );
    await this.#park(
      definition,
      {
        ...record,
        step: step.name,
        stepIndex: index,
        phase: "compensation",
        kind: result.failureKind,
      },
      { stepIndex: index },
      (tx) => sagaStore.finishAttempt(tx, result.attemptId, "FAILED", record, now),
    );
    return false;
  }

  /** Tries one half of a step under its retry policy. */
  async #runHalf(step: SagaStep, index: number, phase: StepPhase): Promise<HalfResult> {
    const env = this.#env;
    const rec = this.#rec;
    const plan = env.sagas.plan(rec.type, index);
    const policy = phase === "action" ? plan.action : plan.compensation;
    const timeoutMs = phase === "action" ? plan.timeoutMs : plan.compensationTimeoutMs;
    const key = idempotencyKeyOf(rec.id, step.name, phase);
    const label = `saga ${rec.type} step "${step.name}" (${phase})`;
    const countKey = `${index}:${phase}`;
    const schedule = scheduleRetries(policy, env.random);
    for (;;) {
      const started = this.#takeStarted(index, phase);
      if (started === undefined && env.stopping.aborted) return { kind: "stopped" };
      const attempt = started?.attempt ?? (this.#attempts.get(countKey) ?? 0) + 1;
      let attemptId: { readonly id: number };
      if (started) {
        attemptId = { id: started.attemptId };
      } else {
        const startedAt = this.#now();
        const starter = this.#tryStarter(step, index, phase, startedAt);
        rec.version = await this.#transaction(async (tx) => {
          const version = await sagaStore.guard(tx, rec, startedAt, startedAt + env.leaseMs);
          await starter.write(tx);
          return version;
        });
        attemptId = { id: starter.committed().attemptId };
        rec.leaseUntil = startedAt + env.leaseMs;
        rec.updatedAt = new Date(startedAt);
      }

      // The try's own span, under the one that started the saga: its calls are its children.
      const trace = childTraceparent(rec.trace);
      const span = env.traceStep?.({
        sagaId: rec.id,
        sagaType: rec.type,
        step: step.name,
        phase,
        attempt,
        trace,
        parent: rec.trace,
      });
      const result = await runStepAttempt(
        (signal) => this.#invoke(step, phase, key, attempt, signal, timeoutMs, trace, span),
        { timeoutMs, clock: env.clock, abandon: env.abandon, label },
      );
      if (env.abandon.aborted) return ended(span, { kind: "stopped" }, result);
      if (result.ok) {
        try {
          const output = toJson(result.value);
          return ended(span, { kind: "succeeded", output, attemptId: attemptId.id });
        } catch (error) {
          return ended(span, {
            kind: "failed",
            failureKind: "fatal",
            error: new PlexusError(Code.Internal, `${label} returned a non-JSON output`, {
              cause: error,
            }),
            attemptId: attemptId.id,
          });
        }
      }
      const error = PlexusError.from(result.error);
      if (phase === "action" && this.#isBusinessFailure(step, error)) {
        return ended(span, {
          kind: "failed",
          failureKind: "business",
          error,
          attemptId: attemptId.id,
        });
      }
      if (!this.#isRetryable(policy, error)) {
        return ended(span, {
          kind: "failed",
          failureKind: "fatal",
          error,
          attemptId: attemptId.id,
        });
      }
      const next = schedule.next(retryAfterMsOf(error));
      if (!next.retry) {
        if (next.reason !== "max-attempts") {
          this.#logger.info(
            { step: step.name, phase, attempt, giveUp: next.reason },
            "saga step try failed; its pushback ends the retries",
          );
        }
        return ended(span, {
          kind: "failed",
          failureKind: "exhausted",
          error,
          attemptId: attemptId.id,
        });
      }
      span?.end("RETRYING", error);
      const failedAt = this.#now();
      const record = toErrorRecord(error);
      rec.version = await this.#transaction(async (tx) => {
        const version = await sagaStore.guard(tx, rec, failedAt, failedAt + env.leaseMs);
        await sagaStore.finishAttempt(tx, attemptId.id, "RETRYING", record, failedAt);
        return version;
      });
      rec.leaseUntil = failedAt + env.leaseMs;
      rec.updatedAt = new Date(failedAt);
      this.#logger.info(
        {
          step: step.name,
          phase,
          attempt,
          reason: record.reason,
          delayMs: next.delayMs,
          delaySource: next.source,
        },
        "saga step try failed; retrying",
      );
      if (next.delayMs > 0) {
        try {
          await sleep(next.delayMs, env.stopping, env.clock);
        } catch {
          return { kind: "stopped" };
        }
      }
    }
  }

  /**
   * Logs the start of the next try of a half-step: `write` runs in a transaction that also
   * guards the saga (its version and lease), `committed` counts it once that committed and
   * returns it.
   */
  #tryStarter(
    step: SagaStep,
    index: number,
    phase: StepPhase,
    now: number,
  ): { write: (tx: Sql) => Promise<void>; committed: () => StartedTry } {
    const rec = this.#rec;
    const countKey = `${index}:${phase}`;
    const attempt = (this.#attempts.get(countKey) ?? 0) + 1;
    let attemptId: number | undefined;
    return {
      write: async (tx) => {
        attemptId = await sagaStore.startAttempt(tx, {
          sagaId: rec.id,
          step: step.name,
          stepIndex: index,
          phase,
          attempt,
          idempotencyKey: idempotencyKeyOf(rec.id, step.name, phase),
          now,
        });
      },
      committed: () => {
        if (attemptId === undefined) throw new Error("the try's start was not written");
        this.#attempts.set(countKey, attempt);
        return { index, phase, attempt, attemptId };
      },
    };
  }

  /** The pre-started try, if it is the one of this half-step (it is used once). */
  #takeStarted(index: number, phase: StepPhase): StartedTry | undefined {
    const started = this.#started;
    this.#started = undefined;
    return started?.index === index && started.phase === phase ? started : undefined;
  }

  /** Calls the action or compensation in a CallContext carrying the key, deadline and signal. */
  #invoke(
    step: SagaStep,
    phase: StepPhase,
    key: string,
    attempt: number,
    signal: AbortSignal,
    timeoutMs: number,
    trace: TraceParent,
    span: SagaStepSpan | undefined,
  ): Promise<unknown> {
    const rec = this.#rec;
    const ctx: StepContext = {
      sagaId: rec.id,
      sagaType: rec.type,
      input: rec.input,
      outputs: Object.freeze({ ...rec.outputs }),
      step: step.name,
      phase,
      idempotencyKey: key,
      actionIdempotencyKey: idempotencyKeyOf(rec.id, step.name, "action"),
      attempt,
      signal,
      logger: this.#logger.child({ step: step.name, phase, attempt }),
    };
    const callContext: CallContext = {
      correlationId: rec.correlationId,
      requestId: newRequestId(),
      deadline: this.#now() + timeoutMs,
      idempotencyKey: key,
      caller: this.#env.serviceName,
      signal,
      trace,
    };
    const call = (): Promise<unknown> =>
      phase === "action" ? step.action(ctx) : (step.compensation?.(ctx) ?? Promise.resolve());
    return runInContext(callContext, () => (span === undefined ? call() : span.run(call)));
  }

  #isBusinessFailure(step: SagaStep, error: PlexusError): boolean {
    try {
      return step.isBusinessFailure?.(error) === true;
    } catch (classifyError) {
      this.#logger.error({ err: classifyError }, "isBusinessFailure threw; treating as false");
      return false;
    }
  }

  #isRetryable(policy: RetryPolicy, error: PlexusError): boolean {
    try {
      return policy.isRetryable(error);
    } catch (classifyError) {
      this.#logger.error({ err: classifyError }, "isRetryable threw; treating as false");
      return false;
    }
  }

  /** Finishes the saga (COMPLETED/COMPENSATED) with its hooks, in one transaction per try. */
  async #finish(
    definition: SagaDefinition,
    status: typeof SagaStatus.Completed | typeof SagaStatus.Compensated,
    stepIndex = this.#rec.stepIndex,
    stepResult?: StepResult,
  ): Promise<void> {
    const error = await this.#settle(
      definition,
      { ...stepResult?.patch, status, stepIndex },
      stepResult?.extra,
      true,
      stepResult,
    );
    if (error === undefined) return;
    await this.#park(
      definition,
      this.#interruption("a finish hook kept failing", error, stepIndex),
      stepResult?.patch,
      stepResult?.extra,
      stepResult,
    );
  }

  /**
   * Parks the saga as NEEDS_ATTENTION, remembering where `retry` continues. Tries with the
   * onNeedsAttention hooks first; when they keep failing, parks without them (an alert lost is
   * better than a saga lost: it stays visible as NEEDS_ATTENTION in the admin API).
   */
  async #park(
    definition: SagaDefinition | undefined,
    attention: SagaFailure,
    patch: Partial<SagaRecord> = {},
    extra?: (tx: Sql) => Promise<void>,
    stepResult?: StepResult,
  ): Promise<void> {
    const rec = this.#rec;
    const resumeStatus: ActiveSagaStatus =
      rec.status === SagaStatus.Compensating ? SagaStatus.Compensating : SagaStatus.Running;
    const parked: Partial<SagaRecord> & { status: FinalStatus } = {
      ...patch,
      status: SagaStatus.NeedsAttention,
      resumeStatus,
      attention,
    };
    const error = await this.#settle(definition, parked, extra, true, stepResult);
    if (error === undefined) return;
    this.#logger.error({ err: error }, "onNeedsAttention hook kept failing; parking without it");
    await this.#settle(undefined, parked, extra, false, stepResult);
  }

  /**
   * Writes a final (or parked) state, running the matching hooks in the same transaction, retried
   * under `finishRetry`. Returns undefined on success, or the last error when tries ran out
   * (or the orchestrator is stopping).
   */
  async #settle(
    definition: SagaDefinition | undefined,
    patch: Partial<SagaRecord> & { status: FinalStatus },
    extra?: (tx: Sql) => Promise<void>,
    withHooks = true,
    stepResult?: StepResult,
  ): Promise<unknown> {
    const env = this.#env;
    const policy = env.finishRetry;
    const hooks = withHooks ? this.#hooksFor(definition, patch.status) : [];
    const schedule = scheduleRetries(policy, env.random);
    for (;;) {
      try {
        await this.#commit({ ...patch, leaseOwner: null, leaseUntil: null }, extra, hooks, true);
        this.#logger.info(
          { status: patch.status, failureReason: this.#rec.failureReason },
          "saga settled",
        );
        env.settled(this.#rec.id);
        return undefined;
      } catch (error) {
        if (error instanceof StopExecution || isConflict(error)) throw error;
        const plexus = PlexusError.from(error);
        if (!this.#isRetryable(policy, plexus)) return error;
        const next = schedule.next(retryAfterMsOf(plexus));
        if (!next.retry) return error;
        this.#logger.warn({ err: error, status: patch.status }, "saga finish failed; retrying");
        if (next.delayMs > 0) {
          try {
            await sleep(next.delayMs, env.stopping, env.clock);
          } catch {
            // Closing: the state written last is the resume point, with the step's result in it.
            if (stepResult) {
              await this.#commit(stepResult.patch, stepResult.extra).catch((commitError) => {
                this.#logger.warn({ err: commitError }, "could not write the step's result");
              });
            }
            throw new StopExecution();
          }
        }
      }
    }
  }

  #hooksFor(definition: SagaDefinition | undefined, status: FinalStatus): Hook[] {
    const name =
      status === SagaStatus.Completed
        ? "onCompleted"
        : status === SagaStatus.Compensated
          ? "onCompensated"
          : "onNeedsAttention";
    const hooks: Hook[] = [];
    for (const holder of [definition, this.#env.hooks]) {
      const hook: Hook | undefined = holder?.[name];
      if (hook) hooks.push(hook.bind(holder));
    }
    return hooks;
  }

  /**
   * Applies `patch` to the saga in one guarded transaction (with `extra` statements and `hooks`),
   * then to the in-memory record once committed.
   */
  async #commit(
    patch: Partial<SagaRecord>,
    extra?: (tx: Sql) => Promise<void>,
    hooks: readonly Hook[] = [],
    final = false,
    after?: (tx: Sql) => Promise<void>,
  ): Promise<void> {
    const rec = this.#rec;
    const now = this.#now();
    const next: SagaRecord = {
      ...rec,
      leaseUntil: now + this.#env.leaseMs,
      ...patch,
      updatedAt: new Date(now),
      finishedAt: final && patch.status !== SagaStatus.NeedsAttention ? new Date(now) : null,
    };
    const version = await this.#transaction(async (tx) => {
      await extra?.(tx);
      const written = await sagaStore.write(tx, rec, next);
      if (hooks.length > 0) {
        const saga = toView({ ...next, version: written }, await sagaStore.attempts(tx, rec.id));
        const event: SagaFinishedEvent = {
          saga,
          input: next.input,
          outputs: saga.outputs,
          failure: next.status === SagaStatus.Completed ? undefined : (next.failure ?? undefined),
          tx,
        };
        for (const hook of hooks) await hook(event);
      }
      await after?.(tx);
      return written;
    });
    Object.assign(rec, next, { version });
  }

  #interruption(message: string, cause?: unknown, stepIndex = this.#rec.stepIndex): SagaFailure {
    const rec = this.#rec;
    const record = toErrorRecord(
      cause === undefined
        ? new PlexusError(Code.FailedPrecondition, message)
        : new PlexusError(Code.Internal, message, { cause }),
    );
    const step = this.#env.sagas.definition(rec.type)?.steps[stepIndex]?.name ?? "";
    return { ...record, step, stepIndex, phase: "finish", kind: "interrupted" };
  }

  #now(): number {
    return this.#env.clock.now();
  }

  /** A statement outside a transaction, refused once the execution is abandoned. */
  #sql<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (this.#env.abandon.aborted) throw new StopExecution();
    return fn(this.#env.db);
  }

  /** A transaction, refused once the execution is abandoned. */
  #transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    if (this.#env.abandon.aborted) throw new StopExecution();
    return this.#env.db.transaction(fn);
  }
}

/** Ends a try's span (if any) with the outcome `half` persists for it, and passes `half` on. */
function ended(
  span: SagaStepSpan | undefined,
  half: HalfResult,
  tried?: AttemptResult,
): HalfResult {
  if (span === undefined) return half;
  if (half.kind === "succeeded") span.end("SUCCEEDED");
  else if (half.kind === "failed") span.end("FAILED", half.error);
  else span.end("INTERRUPTED", tried?.ok === false ? tried.error : undefined);
  return half;
}

/** A JSON round trip: what is stored is exactly what later steps and resumes see. */
function toJson(value: unknown): unknown {
  const text = JSON.stringify(value ?? null);
  if (text === undefined) throw new TypeError("value is not representable as JSON");
  return JSON.parse(text) as unknown;
}
