import { context, ROOT_CONTEXT, SpanKind, trace, type Span } from "@opentelemetry/api";
import type { SagaStepOutcome, SagaStepSpan, SagaStepTracer } from "@plexus/saga";
import { startAdoptedSpan } from "./adopted-span.ts";
import { markFailed } from "./span-failure.ts";
import type { Tracing } from "./tracing.ts";

class RecordedSagaStepSpan implements SagaStepSpan {
  private readonly span: Span;

  constructor(span: Span) {
    this.span = span;
  }

  run<T>(fn: () => T): T {
    return context.with(trace.setSpan(ROOT_CONTEXT, this.span), fn);
  }

  end(outcome: SagaStepOutcome, error?: unknown): void {
    this.span.setAttribute("plexus.saga.outcome", outcome);
    if (outcome !== "SUCCEEDED") markFailed(this.span, error);
    this.span.end();
  }
}

/**
 * The saga orchestrator's step tracer (`createSagaOrchestrator({ traceStep })`; the host hands it
 * to services as `ServiceEnv.traceSagaStep`): an INTERNAL span per try of a step's action or
 * compensation, named `<saga type>/<step> <phase>` (`place-order/charge action`), recorded under
 * the try's own ids (what its calls carry as their parent) and parented on the span that started
 * the saga — so a trace reads: the handler that started it → one span per try → the step's
 * calls. Attributes `plexus.saga.id`, `plexus.saga.type`, `plexus.saga.step`, `plexus.saga.phase`
 * (`action`, `compensation`), `plexus.saga.attempt` (1 for the first try, counted across
 * resumes) and, when the try ends, `plexus.saga.outcome` (`SUCCEEDED`, `RETRYING`, `FAILED`,
 * `INTERRUPTED`, as the saga's timeline records it); any outcome but SUCCEEDED is ERROR with
 * `error.type` (the Plexus code). `undefined` with tracing off.
 *
 * @example
 * const sagas = createSagaOrchestrator({ db, definitions, traceStep: sagaStepSpans(tracing) });
 */
export function sagaStepSpans(tracing: Tracing): SagaStepTracer | undefined {
  if (!tracing.enabled) return undefined;
  return function traceSagaStep(step) {
    const attributes = {
      "plexus.saga.id": step.sagaId,
      "plexus.saga.type": step.sagaType,
      "plexus.saga.step": step.step,
      "plexus.saga.phase": step.phase,
      "plexus.saga.attempt": step.attempt,
    };
    const name = `${step.sagaType}/${step.step} ${step.phase}`;
    const span = startAdoptedSpan(
      tracing,
      SpanKind.INTERNAL,
      name,
      attributes,
      step.trace,
      step.parent,
    );
    return new RecordedSagaStepSpan(span);
  };
}
