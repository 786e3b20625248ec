import { childTraceparent, Code, currentContext, createLogger, PlexusError } from "@plexus/core";
import { createTracing, withClientSpan, type Tracing } from "@plexus/observability";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "@plexus/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "./gateway.ts";
import { createTestClient } from "./test-client.ts";

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;

const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const clientSpan = "00f067aa0ba902b7";

describe("the gateway's SERVER spans (tracing on, a real gateway and OTLP receiver)", () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  let gateway: Gateway;
  let client: ReturnType<typeof createTestClient>;
  let hangStarted: (() => void) | undefined;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    tracing = await createTracing({
      serviceName: "edge",
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "10" },
    });
    gateway = createGateway({
      tracing,
      rateLimit: false,
      logger: createLogger({ name: "t", level: "silent" }),
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/products/:id",
      // A downstream call as an RPC client makes one: a child of the request's context.
      handler: (req) =>
        withClientSpan(
          tracing,
          "catalog",
          { trace: childTraceparent(currentContext()?.trace) },
          async () => ({ body: { data: { id: req.params["id"] } } }),
        ),
    });
    gateway.route({
      method: "POST",
      path: "/api/v1/orders",
      handler: () => {
        throw new PlexusError(Code.Internal, "database on fire");
      },
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/hang",
      handler: (req) =>
        new Promise((_, reject) => {
          req.signal.addEventListener("abort", () => reject(req.signal.reason as Error));
          hangStarted?.();
        }),
    });
    const { url } = await gateway.listen({ host: "127.0.0.1" });
    client = createTestClient(url);
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await tracing?.shutdown();
    await receiver?.close();
  });

  /** The gateway's span whose ids the response named in its `traceparent`. */
  function serverSpanOf(traceparent: string | undefined): Promise<ReceivedSpan> {
    const [, traceId, spanId] = (traceparent ?? "").split("-");
    return receiver.waitFor((spans) =>
      spans.find((s) => s.traceId === traceId && s.spanId === spanId),
    );
  }

  it("continues the client's trace: parented on its span, named after the route template", async () => {
    const res = await client.call("GET", "/api/v1/products/p1?fields=all", {
      headers: { traceparent: `00-${clientTrace}-${clientSpan}-01` },
    });
    expect(res.status).toBe(200);
    const span = await serverSpanOf(res.headers["traceparent"]);
    expect(span).toMatchObject({
      serviceName: "edge",
      name: "GET /api/v1/products/:id",
      kind: SERVER,
      traceId: clientTrace,
      parentSpanId: clientSpan,
      status: { code: 0 },
    });
    expect(span.attributes).toEqual({
      "http.request.method": "GET",
      "http.route": "/api/v1/products/:id",
      "http.response.status_code": 200,
      "url.path": "/api/v1/products/p1",
      "url.scheme": "http",
    });
    // Active while the handler ran: the downstream call is its child.
    const downstream = await receiver.waitFor((spans) =>
      spans.find((s) => s.name === "catalog" && s.parentSpanId === span.spanId),
    );
    expect(downstream).toMatchObject({ kind: CLIENT, traceId: clientTrace });
  });

  it("starts a trace for a client that sent none", async () => {
    const res = await client.call("GET", "/api/v1/products/p2");
    const span = await serverSpanOf(res.headers["traceparent"]);
    expect(span.traceId).not.toBe(clientTrace);
    expect(span.parentSpanId).toBeUndefined();
  });

  it("marks a 5xx ERROR with its status, but not a 4xx", async () => {
    const failed = await client.call("POST", "/api/v1/orders", {
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(failed.status).toBe(500);
    const failedSpan = await serverSpanOf(failed.headers["traceparent"]);
    expect(failedSpan).toMatchObject({ name: "POST /api/v1/orders", status: { code: ERROR } });
    expect(failedSpan.attributes).toMatchObject({
      "http.response.status_code": 500,
      "error.type": "500",
    });

    const missing = await client.call("GET", "/api/v1/nowhere");
    expect(missing.status).toBe(404);
    const missingSpan = await serverSpanOf(missing.headers["traceparent"]);
    // No route matched: the span is named after the method alone, with no http.route.
    expect(missingSpan).toMatchObject({ name: "GET", status: { code: 0 } });
    expect(missingSpan.attributes["http.route"]).toBeUndefined();
    expect(missingSpan.attributes["http.response.status_code"]).toBe(404);
  });

  it("marks a request the client abandoned ERROR (canceled)", async () => {
    const controller = new AbortController();
    const started = new Promise<void>((resolve) => (hangStarted = resolve));
    const pending = client
      .call("GET", "/api/v1/hang", {
        headers: { traceparent: `00-${clientTrace}-1111111111111111-01` },
        signal: controller.signal,
      })
      .catch(() => undefined);
    await started;
    controller.abort();
    await pending;
    const span = await receiver.waitFor((spans) =>
      spans.find((s) => s.parentSpanId === "1111111111111111"),
    );
    expect(span).toMatchObject({ name: "GET /api/v1/hang", status: { code: ERROR } });
    expect(span.attributes["error.type"]).toBe("canceled");
    expect(span.attributes["http.response.status_code"]).toBeUndefined();
  });
});
