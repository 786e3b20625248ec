import type { TraceParent } from "@plexus/core";
import type { AttemptOutcome, StepPhase } from "./saga-view.ts";

/**
 * How one try of a saga step ended, as the saga's timeline persists it: `RETRYING` failed and
 * is tried again, `FAILED` failed for good (the saga compensates or parks), `INTERRUPTED` was
 * abandoned (shutdown) and re-runs with the same idempotency key on resume.
 */
export type SagaStepOutcome = AttemptOutcome;

/** One try of one half (action or compensation) of a saga step, as a tracer sees it. */
export interface SagaStepTry {
  readonly sagaId: string;
  /** The saga definition's name (`place-order`). */
  readonly sagaType: string;
  readonly step: string;
  readonly phase: StepPhase;
  /** 1 for the first try of this half-step, counted across executions (a resume goes on counting). */
  readonly attempt: number;
  /**
   * The try's own span: the context its calls run in carries these ids (`CallContext.trace`),
   * so the calls' spans name it as their parent. Record the try's span under exactly them.
   */
  readonly trace: TraceParent;
  /**
   * The span that started the saga (the handler that called `start`), persisted with the saga so
   * a resumed saga stays in its trace; `undefined` when it was started outside any trace.
   */
  readonly parent: TraceParent | undefined;
}

/** The span of one try; see {@link SagaStepTracer}. */
export interface SagaStepSpan {
  /** Runs the try with the span active, so the step's outgoing calls become its children. */
  run<T>(fn: () => T): T;
  /** Ends the span once the saga decided what the try's outcome is; `error` when it failed. */
  end(outcome: SagaStepOutcome, error?: unknown): void;
}

/**
 * Records a span around each try of a saga step (`createSagaOrchestrator({ traceStep })`). A
 * port, so the saga engine and the services creating orchestrators need no telemetry SDK: the
 * host hands its implementation (`@plexus/observability`'s `sagaStepSpans`) to services as
 * `ServiceEnv.traceSagaStep` (see `service-sagas.ts`), `undefined` when tracing is off.
 */
export type SagaStepTracer = (step: SagaStepTry) => SagaStepSpan;
