import { context, trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { afterEach, describe, expect, it } from "vitest";
import { resilienceSpanEvents } from "./resilience-span-events.ts";
import { createTracing, type Tracing } from "./tracing.ts";

const events = resilienceSpanEvents();
const opened = { callee: "shop.catalog.v1.CatalogService", from: "closed", to: "open" } as const;

let tracing: Tracing | undefined;
afterEach(() => tracing?.shutdown());

describe("resilienceSpanEvents", () => {
  it("does nothing without tracing or without an active span", async () => {
    expect(() => events.onStateChange(opened)).not.toThrow();
    tracing = await createTracing({
      serviceName: "t",
      env: {},
      exporter: new InMemorySpanExporter(),
    });
    expect(() => events.onStateChange(opened)).not.toThrow();
    expect(() =>
      events.onReject({
        callee: opened.callee,
        method: undefined,
        policy: "bulkhead",
        reason: "x",
      }),
    ).not.toThrow();
  });

  it("adds nothing to an active span that already ended (a circuit timer firing late)", async () => {
    const exporter = new InMemorySpanExporter();
    tracing = await createTracing({ serviceName: "t", env: {}, exporter });
    const span = tracing.tracer.startSpan("call");
    span.end();
    context.with(trace.setSpan(context.active(), span), () => events.onStateChange(opened));
    await tracing.forceFlush();
    expect(exporter.getFinishedSpans()[0]?.events).toEqual([]);
  });
});
