import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { context, propagation, trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { startOtlpReceiver } from "@plexus/testing";
import { afterEach, describe, expect, it } from "vitest";
import { withClientSpan } from "./client-span.ts";
import { createTracing, type Tracing } from "./tracing.ts";

const started: Tracing[] = [];

async function tracingWith(options: Parameters<typeof createTracing>[0]): Promise<Tracing> {
  const tracing = await createTracing(options);
  started.push(tracing);
  return tracing;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.shutdown()));
});

/** Whether a span made active is seen as active: only with a context manager registered. */
function contextManagerRegistered(): boolean {
  const probe = trace.wrapSpanContext({
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    traceFlags: 1,
  });
  return (
    context.with(trace.setSpan(context.active(), probe), () => trace.getActiveSpan()) === probe
  );
}

/**
 * Which OpenTelemetry packages besides the API a fresh process loads when it imports this
 * package and creates a tracing with `env` (a module hook records every resolved module).
 */
async function sdkModulesLoaded(env: Record<string, string>): Promise<string[]> {
  const script = `
    import { registerHooks } from "node:module";
    const loaded = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        const result = next(specifier, context);
        const sdk = /node_modules\\/(@opentelemetry\\/(?!api\\/)[^/]+)/.exec(result.url);
        if (sdk) loaded.add(sdk[1]);
        return result;
      },
    });
    const { createTracing } = await import(${JSON.stringify(new URL("./index.ts", import.meta.url).href)});
    const tracing = await createTracing({ serviceName: "probe", env: JSON.parse(process.env.PROBE_ENV) });
    await tracing.shutdown();
    console.log(JSON.stringify([...loaded]));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--input-type=module", "-e", script],
    { env: { ...process.env, PROBE_ENV: JSON.stringify(env) } },
  );
  return JSON.parse(stdout) as string[];
}

describe("createTracing", () => {
  it("is off without an endpoint or an exporter: a no-op tracer and no globals", async () => {
    const tracing = await tracingWith({ serviceName: "orders", env: {} });
    expect(tracing.enabled).toBe(false);
    const span = tracing.tracer.startSpan("nothing");
    expect(span.isRecording()).toBe(false);
    span.end();
    expect(propagation.fields()).toEqual([]);
    expect(contextManagerRegistered()).toBe(false);
    await tracing.forceFlush();
  });

  it("loads no OpenTelemetry SDK module when off, and the SDK and exporter when on", async () => {
    const [off, on] = await Promise.all([
      sdkModulesLoaded({}),
      sdkModulesLoaded({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" }),
    ]);
    expect(off).toEqual([]);
    expect(on).toEqual(
      expect.arrayContaining([
        "@opentelemetry/sdk-trace",
        "@opentelemetry/exporter-trace-otlp-http",
      ]),
    );
  });

  it("records to the given exporter with service.name, holding the globals until shutdown", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = await tracingWith({ serviceName: "orders", env: {}, exporter });
    expect(tracing.enabled).toBe(true);
    expect(propagation.fields()).toContain("traceparent");
    expect(contextManagerRegistered()).toBe(true);

    tracing.tracer.startSpan("work").end();
    await tracing.forceFlush();
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe("work");
    expect(span?.resource.attributes["service.name"]).toBe("orders");

    await tracing.shutdown();
    await tracing.shutdown();
    expect(propagation.fields()).toEqual([]);
    expect(contextManagerRegistered()).toBe(false);
  });

  it("hands the exporter batches with exportInBatches, not each span as it ends", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = await tracingWith({
      serviceName: "orders",
      env: { OTEL_BSP_SCHEDULE_DELAY: "60000" },
      exporter,
      exportInBatches: true,
    });
    tracing.tracer.startSpan("first").end();
    tracing.tracer.startSpan("second").end();
    expect(exporter.getFinishedSpans()).toEqual([]);
    await tracing.forceFlush();
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(["first", "second"]);
  });

  it("keeps the shared globals until the last tracing of the process shuts down", async () => {
    const first = await tracingWith({ serviceName: "a", exporter: new InMemorySpanExporter() });
    const second = await tracingWith({ serviceName: "b", exporter: new InMemorySpanExporter() });
    await first.shutdown();
    expect(contextManagerRegistered()).toBe(true);
    await second.shutdown();
    expect(contextManagerRegistered()).toBe(false);
  });

  it("exports over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT on forceFlush", async () => {
    await using collector = await startOtlpReceiver();
    const tracing = await tracingWith({
      serviceName: "orders",
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.url}/` },
    });
    expect(tracing.enabled).toBe(true);
    const ids = {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      flags: "01",
    };
    await withClientSpan(tracing, "checkout", { trace: ids }, async () => undefined);
    await tracing.forceFlush();

    expect(collector.exports).toHaveLength(1);
    expect(collector.exports[0]?.path).toBe("/v1/traces");
    expect(collector.exports[0]?.contentType).toBe("application/json");
    expect(collector.spans()).toEqual([
      expect.objectContaining({
        serviceName: "orders",
        name: "checkout",
        traceId: ids.traceId,
        spanId: ids.spanId,
        kind: 3, // SPAN_KIND_CLIENT
      }),
    ]);
    await tracing.shutdown();
  });

  it("sends to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, in preference to the base endpoint", async () => {
    await using collector = await startOtlpReceiver();
    const tracing = await tracingWith({
      serviceName: "orders",
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9/unused",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/custom/traces`,
      },
    });
    tracing.tracer.startSpan("work").end();
    await tracing.forceFlush();
    expect(collector.exports.map((r) => r.path)).toEqual(["/custom/traces"]);
    await tracing.shutdown();
  });

  it("exports batches after OTEL_BSP_SCHEDULE_DELAY without a flush", async () => {
    await using collector = await startOtlpReceiver();
    const tracing = await tracingWith({
      serviceName: "orders",
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: "10" },
    });
    tracing.tracer.startSpan("work").end();
    // Polls (bounded) rather than asserting a time: with the default 5 s delay it would time out.
    const span = await collector.waitFor((spans) => spans.find((s) => s.name === "work"), 3_000);
    expect(span.serviceName).toBe("orders");
  });

  it("rejects an endpoint that is not a URL at once", async () => {
    await expect(
      createTracing({
        serviceName: "orders",
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" },
      }),
    ).rejects.toThrow('OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL, got "collector:4318"');
    await expect(
      createTracing({
        serviceName: "orders",
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9", OTEL_BSP_SCHEDULE_DELAY: "soon" },
      }),
    ).rejects.toThrow(/OTEL_BSP_SCHEDULE_DELAY/);
  });
});
