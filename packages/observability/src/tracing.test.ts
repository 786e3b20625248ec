import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { context, propagation, trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { afterEach, describe, expect, it } from "vitest";
import { withClientSpan } from "./client-span.ts";
import { createTracing, type Tracing } from "./tracing.ts";

const started: Tracing[] = [];

function tracingWith(options: Parameters<typeof createTracing>[0]): Tracing {
  const tracing = createTracing(options);
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

interface Received {
  readonly path: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
}

/** A stand-in OTLP/HTTP collector on 127.0.0.1, port 0, recording what it receives. */
async function startCollector() {
  const received: Received[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({
        path: request.url,
        contentType: request.headers["content-type"],
        body: Buffer.concat(chunks).toString("utf8"),
      });
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: async () => {
      // The exporter keeps its connection alive; end it so the server closes now.
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

interface OtlpJson {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: { name: string; traceId: string; spanId: string; kind: number }[] }[];
  }[];
}

describe("createTracing", () => {
  it("is off without an endpoint or an exporter: a no-op tracer and no globals", async () => {
    const tracing = tracingWith({ serviceName: "orders", env: {} });
    expect(tracing.enabled).toBe(false);
    const span = tracing.tracer.startSpan("nothing");
    expect(span.isRecording()).toBe(false);
    span.end();
    expect(propagation.fields()).toEqual([]);
    expect(contextManagerRegistered()).toBe(false);
    await tracing.forceFlush();
  });

  it("records to the given exporter with service.name, holding the globals until shutdown", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = tracingWith({ serviceName: "orders", env: {}, exporter });
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

  it("keeps the shared globals until the last tracing of the process shuts down", async () => {
    const first = tracingWith({ serviceName: "a", exporter: new InMemorySpanExporter() });
    const second = tracingWith({ serviceName: "b", exporter: new InMemorySpanExporter() });
    await first.shutdown();
    expect(contextManagerRegistered()).toBe(true);
    await second.shutdown();
    expect(contextManagerRegistered()).toBe(false);
  });

  it("exports over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT on forceFlush", async () => {
    const collector = await startCollector();
    try {
      const tracing = tracingWith({
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

      expect(collector.received).toHaveLength(1);
      const [request] = collector.received;
      expect(request?.path).toBe("/v1/traces");
      expect(request?.contentType).toBe("application/json");
      const body = JSON.parse(request!.body) as OtlpJson;
      const [resourceSpans] = body.resourceSpans;
      expect(resourceSpans?.resource.attributes).toContainEqual({
        key: "service.name",
        value: { stringValue: "orders" },
      });
      expect(resourceSpans?.scopeSpans[0]?.spans[0]).toMatchObject({
        name: "checkout",
        traceId: ids.traceId,
        spanId: ids.spanId,
        kind: 3, // SPAN_KIND_CLIENT
      });
      await tracing.shutdown();
    } finally {
      await collector.close();
    }
  });

  it("sends to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, in preference to the base endpoint", async () => {
    const collector = await startCollector();
    try {
      const tracing = tracingWith({
        serviceName: "orders",
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9/unused",
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/custom/traces`,
        },
      });
      tracing.tracer.startSpan("work").end();
      await tracing.forceFlush();
      expect(collector.received.map((r) => r.path)).toEqual(["/custom/traces"]);
      await tracing.shutdown();
    } finally {
      await collector.close();
    }
  });

  it("rejects an endpoint that is not a URL at once", () => {
    expect(() =>
      createTracing({
        serviceName: "orders",
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" },
      }),
    ).toThrow(/not an http\(s\) URL/);
  });
});
