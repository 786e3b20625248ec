import { context, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { Code, PlexusError, type TraceParent } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { useTestTracing } from "./test-tracing.ts";
import { createTracing } from "./tracing.ts";
import { withClientSpan } from "./client-span.ts";

const ids: TraceParent = {
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7",
  flags: "01",
};

const traced = useTestTracing("test");

/** Runs `fn` with `parent` as the active span. */
function under<T>(parent: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), parent), fn);
}

describe("withClientSpan", () => {
  it("records a CLIENT span under the call's ids, active while the call runs", async () => {
    let active: Span | undefined;
    const result = await withClientSpan(
      traced.tracing,
      "call",
      { attributes: { "rpc.method": "S/M" }, trace: ids },
      async (span) => {
        active = trace.getActiveSpan();
        expect(active).toBe(span);
        return 42;
      },
    );
    expect(result).toBe(42);
    const [span] = await traced.finished();
    expect(span?.name).toBe("call");
    expect(span?.kind).toBe(SpanKind.CLIENT);
    expect(span?.spanContext()).toMatchObject({ traceId: ids.traceId, spanId: ids.spanId });
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.attributes).toEqual({ "rpc.method": "S/M" });
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    expect(span?.ended).toBe(true);
  });

  it("is a child of the active span of the same trace, not of one of another trace", async () => {
    const sameTrace = traced.tracing.tracer.startSpan("parent", {}, context.active());
    const child: TraceParent = { ...ids, traceId: sameTrace.spanContext().traceId };
    await under(sameTrace, () =>
      withClientSpan(traced.tracing, "child", { trace: child }, async () => 1),
    );
    await under(sameTrace, () =>
      withClientSpan(traced.tracing, "stranger", { trace: ids }, async () => 1),
    );
    sameTrace.end();
    const spans = await traced.finished();
    const byName = new Map(spans.map((s) => [s.name, s]));
    expect(byName.get("child")?.parentSpanContext?.spanId).toBe(sameTrace.spanContext().spanId);
    expect(byName.get("stranger")?.parentSpanContext).toBeUndefined();
    expect(byName.get("stranger")?.spanContext().traceId).toBe(ids.traceId);
  });

  it("takes fresh ids under the active span when given none", async () => {
    const parent = traced.tracing.tracer.startSpan("parent");
    let sent: string | undefined;
    await under(parent, () =>
      withClientSpan(traced.tracing, "http", {}, async (span) => {
        sent = span.spanContext().spanId;
      }),
    );
    parent.end();
    const span = (await traced.finished()).find((s) => s.name === "http");
    expect(span?.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(span?.spanContext().spanId).toBe(sent);
    expect(span?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
  });

  it("marks a failure as ERROR with its code and rethrows it as it came", async () => {
    const failure = new PlexusError(Code.Unavailable, "callee down");
    await expect(
      withClientSpan(traced.tracing, "call", { trace: ids }, () => Promise.reject(failure)),
    ).rejects.toBe(failure);
    const [span] = await traced.finished();
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: "callee down" });
    expect(span?.attributes["error.type"]).toBe("unavailable");
    expect(span?.ended).toBe(true);
  });

  it("records nothing for a trace its caller left unsampled, but still runs the call", async () => {
    const result = await withClientSpan(
      traced.tracing,
      "call",
      { trace: { ...ids, flags: "00" } },
      async (span) => span.isRecording(),
    );
    expect(result).toBe(false);
    expect(await traced.finished()).toEqual([]);
  });

  it("runs the call with a span that records nothing when tracing is off", async () => {
    const off = await createTracing({ serviceName: "test", env: {} });
    const recording = await withClientSpan(off, "call", { trace: ids }, async (span) =>
      span.isRecording(),
    );
    expect(recording).toBe(false);
  });
});
