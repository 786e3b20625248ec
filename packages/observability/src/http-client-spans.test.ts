import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { Code, PlexusError } from "@plexus/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  httpClientSpans,
  type HttpClientCall,
  type HttpClientInterceptor,
} from "./http-client-spans.ts";
import { createTracing, type Tracing } from "./tracing.ts";

const call = {
  upstream: "card-provider",
  method: "POST",
  url: "http://127.0.0.1:9000/v1/charges",
  host: "127.0.0.1",
  port: 9000,
  trace: { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", flags: "01" },
  status: undefined as number | undefined,
} satisfies HttpClientCall;

let exporter: InMemorySpanExporter;
let tracing: Tracing;
let intercept: HttpClientInterceptor;

beforeEach(async () => {
  exporter = new InMemorySpanExporter();
  tracing = await createTracing({ serviceName: "payments", env: {}, exporter });
  intercept = httpClientSpans(tracing);
});
afterEach(() => tracing.shutdown());

/** Runs one request whose (last) response has `status`, as an HTTP client would report it. */
function request(status: number, failure?: PlexusError) {
  return intercept(
    async (current: { -readonly [K in keyof HttpClientCall]: HttpClientCall[K] }) => {
      current.status = status;
      if (failure) throw failure;
      return { status };
    },
  )({ ...call });
}

async function onlySpan() {
  await tracing.forceFlush();
  const spans = exporter.getFinishedSpans();
  expect(spans).toHaveLength(1);
  return spans[0]!;
}

describe("httpClientSpans", () => {
  it("records a CLIENT span under the ids the upstream receives, with HTTP client attributes", async () => {
    expect((await request(201)).status).toBe(201);
    const span = await onlySpan();
    expect(span.name).toBe("POST");
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.spanContext()).toMatchObject({
      traceId: call.trace.traceId,
      spanId: call.trace.spanId,
    });
    expect(span.attributes).toEqual({
      "http.request.method": "POST",
      "url.full": call.url,
      "server.address": "127.0.0.1",
      "server.port": 9000,
      "service.peer.name": "card-provider",
      "http.response.status_code": 201,
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("marks an answer of 400 or more ERROR with its status", async () => {
    await request(402);
    const span = await onlySpan();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes).toMatchObject({
      "error.type": "402",
      "http.response.status_code": 402,
    });
  });

  it("marks a failure ERROR with its code, keeping the status of the response that failed", async () => {
    const failure = new PlexusError(Code.Unavailable, "HTTP 503");
    await expect(request(503, failure)).rejects.toBe(failure);
    const span = await onlySpan();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes).toMatchObject({
      "error.type": "unavailable",
      "http.response.status_code": 503,
    });
  });

  it("passes through when tracing is off", async () => {
    const off = await createTracing({ serviceName: "payments", env: {} });
    const send = async () => ({ status: 200 });
    expect(httpClientSpans(off)(send)).toBe(send);
  });
});
