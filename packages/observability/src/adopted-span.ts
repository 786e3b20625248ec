import {
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Attributes,
  type Span,
  type SpanKind,
} from "@opentelemetry/api";
import type { TraceParent } from "@plexus/core";
import { startSpanWithIds, traceFlagsOf } from "./plexus-id-generator.ts";
import type { Tracing } from "./tracing.ts";

/**
 * Starts a span recorded under `ids` — the span some work assigned itself before any tracer saw
 * it (its context's `trace`, which its own outgoing calls name as their parent) — and parented on
 * `parent`, the span it came from (an incoming `traceparent`, an event's creation context, the
 * span that started a saga), when that belongs to the same trace. The parent is remote: nothing
 * of the context active here (an in-process caller's span, the publisher's span of an in-memory
 * delivery) leaks in, so work traces the same in one process and across several. A trace its
 * origin left unsampled gets a span that records nothing (the SDK's parent-based sampler). The
 * caller ends the span and makes it active while the work runs.
 *
 * SERVER spans of calls and requests, PRODUCER spans of publishes, CONSUMER spans of deliveries
 * and INTERNAL spans of saga steps all start here.
 */
export function startAdoptedSpan(
  tracing: Tracing,
  kind: SpanKind,
  name: string,
  attributes: Attributes,
  ids: TraceParent,
  parent: TraceParent | undefined,
): Span {
  let parentContext = ROOT_CONTEXT;
  if (parent?.traceId === ids.traceId) {
    parentContext = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: parent.traceId,
      spanId: parent.spanId,
      traceFlags: traceFlagsOf(parent),
      isRemote: true,
    });
  } else if (traceFlagsOf(ids) !== TraceFlags.SAMPLED) {
    // A root the sampler would record although the trace is marked unsampled: keep the mark.
    return trace.wrapSpanContext({ traceId: ids.traceId, spanId: ids.spanId, traceFlags: 0 });
  }
  const options = { kind, attributes };
  return startSpanWithIds(tracing.tracer, ids, name, options, parentContext);
}
