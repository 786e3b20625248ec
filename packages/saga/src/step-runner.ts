import {
  Code,
  PlexusError,
  childTraceparent,
  newRequestId,
  retryAfterMsOf,
  runInContext,
  type CallContext,
  type Logger,
  type TraceParent,
} from "@plexus/core";
import { toErrorRecord } from "./error-record.ts";
import type { ExecutionEnv } from "./execution-env.ts";
import { isRetryableBy, scheduleRetries, waitToRetry } from "./retry-policy.ts";
import { idempotencyKeyOf, type SagaStep, type StepContext } from "./saga-definition.ts";
import type { SagaStepSpan } from "./saga-step-tracer.ts";
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

/** One try's call, as the step sees it. */
interface TryCall {
  readonly step: SagaStep;
  readonly phase: StepPhase;
  readonly key: string;
  readonly attempt: number;
  readonly timeoutMs: number;
  /** The try's own span ids (its calls' parent). */
  readonly trace: TraceParent;
  readonly span: SagaStepSpan | undefined;
}

/**
 * Runs one half (action or compensation) of a step under its retry policy: each try logged as
 * started before its call, bounded by its timeout, traced, and classified when it fails
 * (business, retryable, fatal); a retry is logged (RETRYING) before its backoff. The last try's
 * outcome is left to the caller, to write with the saga's next state.
 */
export class StepRunner {
  readonly #env: ExecutionEnv;
  readonly #writer: SagaWriter;
  readonly #tries: StepTries;
  readonly #logger: Logger;

  constructor(env: ExecutionEnv, writer: SagaWriter, tries: StepTries, logger: Logger) {
    this.#env = env;
    this.#writer = writer;
    this.#tries = tries;
    this.#logger = logger;
  }

  async run(step: SagaStep, index: number, phase: StepPhase): Promise<HalfResult> {
    const env = this.#env;
    const rec = this.#writer.record;
    const plan = env.sagas.plan(rec.type, index);
    const policy = phase === "action" ? plan.action : plan.compensation;
    const timeoutMs = phase === "action" ? plan.timeoutMs : plan.compensationTimeoutMs;
    const key = idempotencyKeyOf(rec.id, step.name, phase);
    const label = `saga ${rec.type} step "${step.name}" (${phase})`;
    const schedule = scheduleRetries(policy, env.random);
    for (;;) {
      const started =
        this.#tries.takeAhead(index, phase) ??
        (env.stopping.aborted ? undefined : await this.#startTry(step, index, phase));
      if (started === undefined) return { kind: "stopped" };
      const { attempt, attemptId } = started;

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
      const call: TryCall = { step, phase, key, attempt, timeoutMs, trace, span };
      const result = await runStepAttempt((signal) => this.#invoke(call, signal), {
        timeoutMs,
        clock: env.clock,
        abandon: env.abandon,
        label,
      });
      if (env.abandon.aborted) return ended(span, { kind: "stopped" }, result);
      const failed = (failureKind: FailureKind, error: unknown): HalfResult =>
        ended(span, { kind: "failed", failureKind, error, attemptId });
      if (result.ok) {
        try {
          return ended(span, { kind: "succeeded", output: toJson(result.value), attemptId });
        } catch (error) {
          const message = `${label} returned a non-JSON output`;
          return failed("fatal", new PlexusError(Code.Internal, message, { cause: error }));
        }
      }
      const error = PlexusError.from(result.error);
      if (phase === "action" && this.#isBusinessFailure(step, error)) {
        return failed("business", error);
      }
      if (!isRetryableBy(policy, error, this.#logger)) return failed("fatal", error);
      const next = schedule.next(retryAfterMsOf(error));
      if (!next.retry) {
        if (next.reason !== "max-attempts") {
          this.#logger.info(
            { step: step.name, phase, attempt, giveUp: next.reason },
            "saga step try failed; its pushback ends the retries",
          );
        }
        return failed("exhausted", error);
      }
      span?.end("RETRYING", error);
      const failedAt = this.#writer.now();
      const record = toErrorRecord(error);
      await this.#writer.guarded(failedAt, (tx) =>
        sagaTimeline.finishAttempt(tx, attemptId, "RETRYING", record, failedAt),
      );
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
      if (!(await waitToRetry(next.delayMs, env.stopping, env.clock))) return { kind: "stopped" };
    }
  }

  /** Logs the start of the next try, guarded, and returns it once committed. */
  async #startTry(step: SagaStep, index: number, phase: StepPhase): Promise<StartedTry> {
    const startedAt = this.#writer.now();
    const start = this.#tries.start(step, index, phase, startedAt);
    await this.#writer.guarded(startedAt, start.write);
    return start.committed();
  }

  /** Calls the action or compensation in a CallContext carrying the key, deadline and signal. */
  #invoke(call: TryCall, signal: AbortSignal): Promise<unknown> {
    const rec = this.#writer.record;
    const { step, phase, key, attempt } = call;
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
      deadline: this.#writer.now() + call.timeoutMs,
      idempotencyKey: key,
      caller: this.#env.serviceName,
      signal,
      trace: call.trace,
    };
    const run = (): Promise<unknown> =>
      phase === "action" ? step.action(ctx) : (step.compensation?.(ctx) ?? Promise.resolve());
    const { span } = call;
    return runInContext(callContext, () => (span === undefined ? run() : span.run(run)));
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
