import {
  Code,
  PlexusError,
  chainInterceptors,
  childScope,
  retryAfterMsOf,
  runInContext,
  type CallHandler,
  type CallScope,
  type Logger,
} from "@plexus/core";
import type { RetrySchedule } from "@plexus/resilience";
import { toErrorRecord } from "./error-record.ts";
import type { ExecutionEnv } from "./execution-env.ts";
import { isRetryableBy, scheduleRetries, waitToRetry, type RetryPolicy } from "./retry-policy.ts";
import { idempotencyKeyOf, type SagaStep, type StepContext } from "./saga-definition.ts";
import type { SagaStepCall, SagaStepResult } from "./saga-step-call.ts";
import { sagaTimeline } from "./saga-timeline.ts";
import type { SagaWriter } from "./saga-writer.ts";
import type { FailureKind, StepPhase } from "./saga-view.ts";
import { runStepAttempt, type AttemptResult } from "./step-attempt.ts";
import type { StartedTry, StepTries } from "./step-tries.ts";

/** How one half of a step ended, its last try's outcome not written yet (`attemptId`). */
export type HalfResult =
  | { readonly kind: "succeeded"; readonly output: unknown; readonly attemptId: number }
  | {
      readonly kind: "failed";
      readonly failureKind: FailureKind;
      readonly error: unknown;
      readonly attemptId: number;
    }
  | { readonly kind: "stopped" };

/** The half-step being tried: what all its tries share. */
interface Half {
  readonly step: SagaStep;
  readonly phase: StepPhase;
  readonly key: string;
  readonly timeoutMs: number;
  readonly policy: RetryPolicy;
  /** The retry decisions of its tries (stateful: one per half-step). */
  readonly schedule: RetrySchedule;
  readonly label: string;
}

/**
 * Runs one half (action or compensation) of a step under its retry policy: each try logged as
 * started before its call, run through the step interceptors, bounded by its timeout, and
 * classified when it fails (business, retryable, fatal); a retry is logged (RETRYING) before its
 * backoff. The last try's outcome is left to the caller, to write with the saga's next state.
 */
export class StepRunner {
  readonly #env: ExecutionEnv;
  readonly #writer: SagaWriter;
  readonly #tries: StepTries;
  readonly #logger: Logger;
  /** The interceptors around `#try`, composed once per execution (never per try). */
  readonly #chain: CallHandler<SagaStepCall, SagaStepResult>;
  /** The half-step `run` is trying: an execution runs one at a time. */
  #half: Half | undefined;
  /** The call scope of the try `run` is in. */
  #scope: CallScope | undefined;

  constructor(env: ExecutionEnv, writer: SagaWriter, tries: StepTries, logger: Logger) {
    this.#env = env;
    this.#writer = writer;
    this.#tries = tries;
    this.#logger = logger;
    this.#chain = chainInterceptors(env.interceptors, (call) => this.#try(call));
  }

  async run(step: SagaStep, index: number, phase: StepPhase): Promise<HalfResult> {
    const env = this.#env;
    const rec = this.#writer.record;
    const plan = env.sagas.plan(rec.type, index);
    const policy = phase === "action" ? plan.action : plan.compensation;
    const half: Half = {
      step,
      phase,
      key: idempotencyKeyOf(rec.id, step.name, phase),
      timeoutMs: phase === "action" ? plan.timeoutMs : plan.compensationTimeoutMs,
      policy,
      schedule: scheduleRetries(policy, env.random),
      label: `saga ${rec.type} step "${step.name}" (${phase})`,
    };
    this.#half = half;
    for (;;) {
      const started =
        this.#tries.takeAhead(index, phase) ??
        (env.stopping.aborted ? undefined : await this.#startTry(step, index, phase));
      if (started === undefined) return { kind: "stopped" };
      const { attempt, attemptId } = started;
      // Abandoned before the try began: it re-runs on resume.
      if (env.abandon.aborted) return { kind: "stopped" };
      // The try's call scope: its deadline the per-try timeout, its cancellation the
      // orchestrator's abandonment, its span a child of the one that started the saga.
      const scope = childScope(
        { correlationId: rec.correlationId, trace: rec.trace },
        {
          timeoutMs: half.timeoutMs,
          signal: env.abandon,
          idempotencyKey: half.key,
          caller: env.serviceName,
          clock: env.clock,
        },
      );
      const call: SagaStepCall = {
        sagaId: rec.id,
        sagaType: rec.type,
        step: step.name,
        phase,
        attempt,
        // The try's own span: its calls, made in its scope, are its children.
        trace: scope.trace,
        parent: rec.trace,
      };
      let result: SagaStepResult;
      this.#scope = scope;
      try {
        result = await this.#chain(call);
      } catch (error) {
        // An interceptor failed the try: it fails as the step failing would.
        result = this.#classify(half, call, { ok: false, error });
      } finally {
        scope.release();
      }
      switch (result.outcome) {
        case "SUCCEEDED":
          return { kind: "succeeded", output: result.output, attemptId };
        case "FAILED":
          return { kind: "failed", failureKind: result.failure, error: result.error, attemptId };
        case "INTERRUPTED":
          return { kind: "stopped" };
        case "RETRYING":
          break;
      }
      const failedAt = this.#writer.now();
      const record = toErrorRecord(result.error);
      await this.#writer.guarded(failedAt, (tx) =>
        sagaTimeline.finishAttempt(tx, attemptId, "RETRYING", record, failedAt),
      );
      this.#logger.info(
        {
          step: step.name,
          phase,
          attempt,
          reason: record.reason,
          delayMs: result.delayMs,
          delaySource: result.delaySource,
        },
        "saga step try failed; retrying",
      );
      if (!(await waitToRetry(result.delayMs, env.stopping, env.clock))) {
        return { kind: "stopped" };
      }
    }
  }

  /** Logs the start of the next try, guarded, and returns it once committed. */
  async #startTry(step: SagaStep, index: number, phase: StepPhase): Promise<StartedTry> {
    const startedAt = this.#writer.now();
    const start = this.#tries.start(step, index, phase, startedAt);
    await this.#writer.guarded(startedAt, start.write);
    return start.committed();
  }

  /** The innermost handler of the chain: one try of the current half-step, classified. */
  async #try(call: SagaStepCall): Promise<SagaStepResult> {
    const half = this.#half!;
    const scope = this.#scope!;
    const tried = await runStepAttempt(() => this.#invoke(half, call, scope), {
      signal: scope.signal,
      timeoutMs: half.timeoutMs,
      label: half.label,
    });
    return this.#classify(half, call, tried);
  }

  /** What a try's result means under the half-step's policy (consumes a retry decision). */
  #classify(half: Half, call: SagaStepCall, tried: AttemptResult): SagaStepResult {
    if (this.#env.abandon.aborted) {
      return { outcome: "INTERRUPTED", error: tried.ok ? undefined : tried.error };
    }
    const failed = (failure: FailureKind, error: unknown): SagaStepResult => ({
      outcome: "FAILED",
      error,
      failure,
    });
    if (tried.ok) {
      try {
        return { outcome: "SUCCEEDED", output: toJson(tried.value) };
      } catch (error) {
        const message = `${half.label} returned a non-JSON output`;
        return failed("fatal", new PlexusError(Code.Internal, message, { cause: error }));
      }
    }
    const error = PlexusError.from(tried.error);
    if (half.phase === "action" && this.#isBusinessFailure(half.step, error)) {
      return failed("business", error);
    }
    if (!isRetryableBy(half.policy, error, this.#logger)) return failed("fatal", error);
    const next = half.schedule.next(retryAfterMsOf(error));
    if (!next.retry) {
      if (next.reason !== "max-attempts") {
        this.#logger.info(
          { step: call.step, phase: call.phase, attempt: call.attempt, giveUp: next.reason },
          "saga step try failed; its pushback ends the retries",
        );
      }
      return failed("exhausted", error);
    }
    return { outcome: "RETRYING", error, delayMs: next.delayMs, delaySource: next.source };
  }

  /** Calls the action or compensation in the try's call scope (key, deadline, signal, span). */
  #invoke(half: Half, call: SagaStepCall, scope: CallScope): Promise<unknown> {
    const rec = this.#writer.record;
    const { step, phase, key } = half;
    const { attempt } = call;
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
      signal: scope.signal,
      logger: this.#logger.child({ step: step.name, phase, attempt }),
    };
    return runInContext(scope, () =>
      phase === "action" ? step.action(ctx) : (step.compensation?.(ctx) ?? Promise.resolve()),
    );
  }

  #isBusinessFailure(step: SagaStep, error: PlexusError): boolean {
    try {
      return step.isBusinessFailure?.(error) === true;
    } catch (classifyError) {
      this.#logger.error({ err: classifyError }, "isBusinessFailure threw; treating as false");
      return false;
    }
  }
}

/** A JSON round trip: what is stored is exactly what later steps and resumes see. */
function toJson(value: unknown): unknown {
  const text = JSON.stringify(value ?? null);
  if (text === undefined) throw new TypeError("value is not representable as JSON");
  return JSON.parse(text) as unknown;
}
