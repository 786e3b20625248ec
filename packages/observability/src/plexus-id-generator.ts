import {
  TraceFlags,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
} from "@opentelemetry/api";
import type { IdGenerator } from "@opentelemetry/sdk-trace";
import type { TraceParent } from "@plexus/core";

/** The ids the span being started must take, set only for the duration of one `startSpan`. */
let adopted: TraceParent | undefined;

/**
 * The id generator of every tracer provider `createTracing` builds. Plexus assigns trace and span
 * ids itself (`CallContext.trace`) and sends them as `traceparent` before any tracer sees the
 * call; the OpenTelemetry API has no way to start a span with given ids, so the generator hands
 * the SDK the adopted ids while {@link startSpanWithIds} runs, and `random`'s otherwise. `random`
 * is the SDK's own generator, passed in because the SDK is loaded only when tracing is on.
 */
export function plexusIdGenerator(random: IdGenerator): IdGenerator {
  return {
    generateTraceId: () => adopted?.traceId ?? random.generateTraceId(),
    generateSpanId: () => adopted?.spanId ?? random.generateSpanId(),
  };
}

/**
 * Starts a span recorded under `ids` (the SDK's `startSpan` is synchronous, so no other span can
 * take them). The parent in `parentContext`, if any, must belong to the same trace. Only tracers
 * of a provider using {@link plexusIdGenerator} honour the ids.
 */
export function startSpanWithIds(
  tracer: Tracer,
  ids: TraceParent,
  name: string,
  options: SpanOptions,
  parentContext: Context,
): Span {
  adopted = ids;
  try {
    return tracer.startSpan(name, options, parentContext);
  } finally {
    adopted = undefined;
  }
}

/** The OpenTelemetry trace flags of `ids` (only the sampled bit is defined). */
export function traceFlagsOf(ids: TraceParent): TraceFlags {
  return Number.parseInt(ids.flags, 16) & TraceFlags.SAMPLED;
}
