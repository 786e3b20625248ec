import { context, ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import type { SagaStepInterceptor } from "@plexus/saga";
import { startAdoptedSpan } from "./adopted-span.ts";
import { markFailed } from "./span-failure.ts";
import type { Tracing } from "./tracing.ts";

/**
 * The saga step interceptor (`createSagaOrchestrator({ interceptors })`; the host hands it to
 * services in `ServiceEnv.sagaStepInterceptors`): an INTERNAL span per try of a step's action or
 * compensation, named `<saga type>/<step> <phase>` (`place-order/charge action`), recorded under
 * the try's own ids (what its calls carry as their parent) and parented on the span that started
 * the saga — so a trace reads: the handler that started it → one span per try → the step's
 * calls. Attributes `plexus.saga.id`, `plexus.saga.type`, `plexus.saga.step`, `plexus.saga.phase`
 * (`action`, `compensation`), `plexus.saga.attempt` (1 for the first try, counted across
 * resumes) and, when the try ends, `plexus.saga.outcome` (`SUCCEEDED`, `RETRYING`, `FAILED`,
 * `INTERRUPTED`, as the saga's timeline records it); any outcome but SUCCEEDED is ERROR with
 * `error.type` (the Plexus code), as is a try an inner interceptor failed. A pass-through with
 * tracing off.
 *
 * @example
 * const sagas = createSagaOrchestrator({ db, definitions, interceptors: [sagaStepSpans(tracing)] });
 */
export function sagaStepSpans(tracing: Tracing): SagaStepInterceptor {
  if (!tracing.enabled) return (next) => next;
  return (next) =>
    async function traceSagaStep(call) {
      const attributes = {
        "plexus.saga.id": call.sagaId,
        "plexus.saga.type": call.sagaType,
        "plexus.saga.step": call.step,
        "plexus.saga.phase": call.phase,
        "plexus.saga.attempt": call.attempt,
      };
      const name = `${call.sagaType}/${call.step} ${call.phase}`;
      const span = startAdoptedSpan(
        tracing,
        SpanKind.INTERNAL,
        name,
        attributes,
        call.trace,
        call.parent,
      );
      try {
        const result = await context.with(trace.setSpan(ROOT_CONTEXT, span), next, undefined, call);
        span.setAttribute("plexus.saga.outcome", result.outcome);
        if (result.outcome !== "SUCCEEDED") markFailed(span, result.error);
        return result;
      } catch (error) {
        markFailed(span, error);
        throw error;
      } finally {
        span.end();
      }
    };
}
