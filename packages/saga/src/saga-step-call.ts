import type { Interceptor, PlexusError, TraceParent } from "@plexus/core";
import type { AttemptOutcome, FailureKind, StepPhase } from "./saga-view.ts";

/**
 * How one try of a saga step ended, as the saga's timeline persists it: `RETRYING` failed and
 * is tried again, `FAILED` failed for good (the saga compensates or parks), `INTERRUPTED` was
 * abandoned (shutdown) and re-runs with the same idempotency key on resume.
 */
export type SagaStepOutcome = AttemptOutcome;

/**
 * One try of one half (action or compensation) of a saga step: the call of the saga-step
 * boundary ({@link SagaStepInterceptor}).
 */
export interface SagaStepCall {
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

/**
 * How a try ended and what the saga does next: the result of the saga-step boundary. The
 * saga's timeline records `outcome`; a `RETRYING` try is tried again after `delayMs`, a `FAILED`
 * one fails its half-step (`failure` says how: the saga compensates or parks).
 */
export type SagaStepResult =
  | { readonly outcome: "SUCCEEDED"; readonly output: unknown }
  | {
      readonly outcome: "RETRYING";
      readonly error: PlexusError;
      readonly delayMs: number;
      /** Whether `delayMs` is the policy's backoff or the callee's pushback (`Retry-After`). */
      readonly delaySource: "backoff" | "pushback";
    }
  | { readonly outcome: "FAILED"; readonly error: unknown; readonly failure: FailureKind }
  | { readonly outcome: "INTERRUPTED"; readonly error: unknown };

/**
 * Runs around each try of a saga step (DESIGN.md convention 7; the host's step span, see
 * `@plexus/observability`'s `sagaStepSpans`): the innermost handler runs the action or
 * compensation in the try's context, bounded by its timeout, and decides the outcome under the
 * step's retry policy. A rejection fails the try as the step's own error would: classified and
 * retried under the same policy. A port, so the saga engine and the services creating
 * orchestrators need no telemetry SDK: the host hands its interceptors to services as
 * `ServiceEnv.sagaStepInterceptors` (see `service-sagas.ts`).
 */
export type SagaStepInterceptor = Interceptor<SagaStepCall, SagaStepResult>;
