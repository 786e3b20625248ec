import {
  ROOT_CONTEXT,
  SpanKind,
  trace,
  TraceFlags,
  type Attributes,
  type Span,
} from "@opentelemetry/api";
import type { TraceParent } from "@plexus/core";
import { startSpanWithIds, traceFlagsOf } from "./plexus-id-generator.ts";
import type { Tracing } from "./tracing.ts";

/**
 * Starts the SERVER span of one incoming request or call, recorded under `ids` — the span this
 * hop assigned itself (its context's `trace`, which its own outgoing calls name as their parent)
 * — and parented on the caller's span `parent` (the incoming `traceparent`) when that belongs to
 * the same trace. The parent is remote: nothing of the context active here (an in-process
 * caller's span) leaks in, so a call traces the same in process and over the network. A caller
 * that left its trace unsampled gets a span that records nothing (the SDK's parent-based
 * sampler). The caller ends the span and makes it active while the request is handled.
 */
export function startServerSpan(
  tracing: Tracing,
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
  const options = { kind: SpanKind.SERVER, attributes };
  return startSpanWithIds(tracing.tracer, ids, name, options, parentContext);
}
