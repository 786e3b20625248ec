import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import {
  Code,
  PlexusError,
  type CallContext,
  type HandlerContext,
  type ServiceHandlers,
  type UnaryFn,
} from "@plexus/core";
import {
  constantBackoff,
  createClientResilience,
  type CalleePolicyOptions,
} from "@plexus/resilience";
import { bindService, createClient, createInProcessTransport } from "@plexus/rpc";
import { createFakeClock } from "@plexus/testing";
import { afterEach, describe, expect, it } from "vitest";
import {
  CatalogService,
  type GetProductRequest,
} from "../../../apps/shop/gen/shop/catalog/v1/catalog_pb.js";
import { resilienceSpanEvents } from "./resilience-span-events.ts";
import { rpcClientTracingInterceptor } from "./rpc-client-tracing-interceptor.ts";
import { createTracing, type Tracing } from "./tracing.ts";

const callee = "shop.catalog.v1.CatalogService";
const getProductSpan = `${callee}/GetProduct`;

async function notUsed(): Promise<never> {
  throw new PlexusError(Code.Unimplemented, "not used by these tests");
}

type GetProduct = (
  request: GetProductRequest,
  ctx: HandlerContext,
) => ReturnType<ServiceHandlers<typeof CatalogService>["getProduct"]>;

const tracings: Tracing[] = [];
afterEach(async () => {
  await Promise.all(tracings.splice(0).map((t) => t.shutdown()));
});

/**
 * A catalog served in process behind a real client: tracing outermost, then the resilience
 * interceptors with a fake clock and the span-event hooks. Records what the callee received.
 */
async function setup(getProduct: GetProduct, policies: CalleePolicyOptions = {}) {
  const exporter = new InMemorySpanExporter();
  const tracing = await createTracing({ serviceName: "orders", env: {}, exporter });
  tracings.push(tracing);
  const clock = createFakeClock(1_000);
  const received: { traceparent: string | null; context: CallContext }[] = [];
  const transport = createInProcessTransport({
    clock,
    services: [
      bindService(CatalogService, {
        listProducts: notUsed,
        getProducts: async (request) => ({ products: request.ids.map((id) => ({ id })) }),
        reserveStock: notUsed,
        releaseStock: notUsed,
        getProduct(request, ctx) {
          received.push({ traceparent: ctx.header.get("traceparent"), context: ctx.context });
          return getProduct(request, ctx);
        },
      }),
    ],
  });
  const resilience = createClientResilience({
    defaults: { retry: { maxAttempts: 3, backoff: constantBackoff(10) }, ...policies },
    clock,
    ...resilienceSpanEvents(),
  });
  const catalog = createClient(CatalogService, transport, {
    caller: "orders",
    clock,
    interceptors: [rpcClientTracingInterceptor(tracing), ...resilience.interceptors],
  });
  /** Places one call and lets the fake clock run its backoffs. */
  async function call(id = "p1") {
    const outcome = catalog.getProduct({ id }).catch((error: unknown) => error as PlexusError);
    await clock.advanceAsync(1_000);
    return outcome;
  }
  async function spans(): Promise<ReadableSpan[]> {
    await tracing.forceFlush();
    return exporter.getFinishedSpans();
  }
  return { catalog, received, call, spans };
}

function traceparentOf(span: ReadableSpan | undefined): string {
  const { traceId, spanId } = span!.spanContext();
  return `00-${traceId}-${spanId}-01`;
}

const found: GetProduct = async (request) => ({ product: { id: request.id } });
const unavailable = () => Promise.reject(new PlexusError(Code.Unavailable, "catalog down"));

describe("rpcClientTracingInterceptor", () => {
  it("records a CLIENT span per call under the ids the callee receives as traceparent", async () => {
    const { call, received, spans } = await setup(found);
    await call();
    const [span] = await spans();
    expect(span?.name).toBe(getProductSpan);
    expect(span?.kind).toBe(SpanKind.CLIENT);
    expect(span?.attributes).toEqual({
      "rpc.system.name": "connectrpc",
      "rpc.method": getProductSpan,
    });
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    // No caller trace: the call started a trace, and its span is the root.
    expect(span?.parentSpanContext).toBeUndefined();
    expect(received[0]?.traceparent).toBe(traceparentOf(span));
    // The callee's own context is a child in the same trace.
    expect(received[0]?.context.trace?.traceId).toBe(span?.spanContext().traceId);
  });

  it("makes a call placed while serving another call a child of that call's span", async () => {
    const { catalog, call, spans } = await setup(async (request) => {
      const { products } = await catalog.getProducts({ ids: [request.id] });
      return { product: products[0] };
    });
    await call();
    const all = await spans();
    const outer = all.find((s) => s.name === getProductSpan);
    const inner = all.find((s) => s.name === `${callee}/GetProducts`);
    expect(inner?.spanContext().traceId).toBe(outer?.spanContext().traceId);
    expect(inner?.parentSpanContext?.spanId).toBe(outer?.spanContext().spanId);
  });

  it("marks a failed call ERROR with its RPC status code", async () => {
    const { call, spans } = await setup(() =>
      Promise.reject(new PlexusError(Code.NotFound, "no p1")),
    );
    const outcome = await call();
    expect(outcome).toBeInstanceOf(PlexusError);
    const [span] = await spans();
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: "no p1" });
    expect(span?.attributes).toMatchObject({
      "rpc.status_code": "not_found",
      "error.type": "not_found",
    });
  });

  it("is a pass-through when tracing is off", async () => {
    const off = await createTracing({ serviceName: "orders", env: {} });
    const next: UnaryFn = () => Promise.reject(new Error("not called"));
    expect(rpcClientTracingInterceptor(off)(next)).toBe(next);
  });
});

describe("resilience span events on the call's span", () => {
  it("records each retry on the call's span; every attempt carries the span's ids", async () => {
    let attempts = 0;
    const { call, received, spans } = await setup((request, ctx) =>
      ++attempts === 1 ? unavailable() : found(request, ctx),
    );
    await call();
    const [span] = await spans();
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    expect(span?.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        "plexus.retry",
        { "plexus.retry.attempt": 2, "plexus.retry.delay_ms": 10, "plexus.retry.hedge": false },
      ],
    ]);
    expect(received.map((r) => r.traceparent)).toEqual([traceparentOf(span), traceparentOf(span)]);
  });

  it("records the circuit opening on the call that tripped it, and the refusal on the next", async () => {
    const { call, received, spans } = await setup(unavailable, {
      retry: false,
      circuitBreaker: {
        slidingWindow: { type: "count", size: 2 },
        minimumNumberOfCalls: 2,
        failureRateThreshold: 50,
      },
    });
    await call("first");
    await call("tripping");
    const refused = await call("refused");
    expect(refused).toBeInstanceOf(PlexusError);
    expect(received).toHaveLength(2);

    const [first, tripping, rejected] = await spans();
    expect(first?.events).toEqual([]);
    expect(tripping?.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        "plexus.circuit.state_change",
        {
          "plexus.circuit.callee": callee,
          "plexus.circuit.from": "closed",
          "plexus.circuit.to": "open",
        },
      ],
    ]);
    expect(rejected?.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        "plexus.rejected",
        { "plexus.rejected.policy": "circuit-breaker", "plexus.rejected.reason": "open" },
      ],
    ]);
    expect(rejected?.status.code).toBe(SpanStatusCode.ERROR);
    expect(rejected?.attributes["rpc.status_code"]).toBe("unavailable");
  });
});
