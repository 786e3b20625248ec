import {
  context,
  INVALID_SPAN_CONTEXT,
  SpanKind,
  trace,
  TraceFlags,
  type Attributes,
  type Span,
} from "@opentelemetry/api";
import type { TraceParent } from "@plexus/core";
import { startSpanWithIds, traceFlagsOf } from "./plexus-id-generator.ts";
import { markFailed } from "./span-failure.ts";
import type { Tracing } from "./tracing.ts";

export interface ClientSpanOptions {
  /** Attributes known before the call (the protocol's semantic-convention attributes). */
  readonly attributes?: Attributes;
  /**
   * The trace context this call sends downstream as `traceparent` (the call's
   * `CallContext.trace`). The span is recorded under exactly these ids, so the callee's spans and
   * logs hang under it; its parent is the active span if that belongs to the same trace. A trace
   * the caller marked unsampled (flags `00`) records nothing. Without it, the span takes fresh ids
   * under the active span, and `fn` sends `span.spanContext()` itself. Default: none.
   */
  readonly trace?: TraceParent;
}

/** What `fn` gets when nothing is recorded: a span that ignores everything. */
const noSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Runs one outgoing call (`fn`) in a CLIENT span that is the active span while it runs — so
 * resilience hooks fired inside (retries, rejections, circuit changes) land on it as events — and
 * ends it when `fn` settles. A failure sets the span's status to ERROR and `error.type` to the
 * Plexus code (`unavailable`), and is rethrown as it came. With tracing off, `fn` runs at once
 * with a span that records nothing. Shared by RPC (`rpcClientTracingInterceptor`) and any other
 * outgoing call, such as an HTTP upstream.
 *
 * @example
 * const answer = await withClientSpan(
 *   tracing,
 *   "GET legacy",
 *   { attributes: { "http.request.method": "GET" }, trace: callContext.trace },
 *   async (span) => {
 *     const response = await upstream.request(options);
 *     span.setAttribute("http.response.status_code", response.statusCode);
 *     return response;
 *   },
 * );
 */
export function withClientSpan<T>(
  tracing: Tracing,
  name: string,
  options: ClientSpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  if (!tracing.enabled) return fn(noSpan);
  const ids = options.trace;
  const active = context.active();
  let parentContext = active;
  if (ids !== undefined) {
    const parent = trace.getSpanContext(active);
    if (parent?.traceId !== ids.traceId) {
      // Without a parent in the call's trace, the ids decide alone: an active span of another
      // trace cannot be the parent, and an unsampled trace records nothing.
      if (traceFlagsOf(ids) !== TraceFlags.SAMPLED) return fn(noSpan);
      if (parent !== undefined) parentContext = trace.deleteSpan(active);
    }
  }
  const spanOptions = { kind: SpanKind.CLIENT, attributes: options.attributes };
  const span =
    ids === undefined
      ? tracing.tracer.startSpan(name, spanOptions, parentContext)
      : startSpanWithIds(tracing.tracer, ids, name, spanOptions, parentContext);
  return context.with(trace.setSpan(parentContext, span), async function inClientSpan() {
    try {
      return await fn(span);
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}
