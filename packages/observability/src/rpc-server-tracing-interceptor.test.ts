import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { Code, PlexusError, type CallContext, type Transport, type UnaryFn } from "@plexus/core";
import {
  bindService,
  createClient,
  createInProcessTransport,
  createNetworkTransport,
  createRpcServer,
} from "@plexus/rpc";
import { afterEach, describe, expect, it } from "vitest";
import { CatalogService } from "../../../apps/shop/gen/shop/catalog/v1/catalog_pb.js";
import { rpcClientTracingInterceptor } from "./rpc-client-tracing-interceptor.ts";
import { rpcServerTracingInterceptor } from "./rpc-server-tracing-interceptor.ts";
import { createTracing } from "./tracing.ts";

const service = "shop.catalog.v1.CatalogService";

async function notUsed(): Promise<never> {
  throw new PlexusError(Code.Unimplemented, "not used by these tests");
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Wiring = "in process" | "over the network";

/**
 * A catalog whose GetProduct looks the product up with a nested call (GetProducts, through a
 * client of its own), served in process or by a Connect server with the server tracing
 * interceptor, called by a client with the client tracing interceptor. Records what each handler
 * saw as its context.
 */
async function setup(wiring: Wiring) {
  const exporter = new InMemorySpanExporter();
  const tracing = await createTracing({ serviceName: "catalog", env: {}, exporter });
  cleanups.push(() => tracing.shutdown());
  const contexts = new Map<string, CallContext>();
  const services = [
    bindService(CatalogService, {
      listProducts: notUsed,
      reserveStock: notUsed,
      releaseStock: notUsed,
      async getProducts(request, ctx) {
        contexts.set("GetProducts", ctx.context);
        return { products: request.ids.map((id) => ({ id })) };
      },
      async getProduct(request, ctx) {
        contexts.set("GetProduct", ctx.context);
        if (request.id === "missing") throw new PlexusError(Code.NotFound, "no such product");
        if (request.id === "broken") throw new PlexusError(Code.Internal, "store is broken");
        const { products } = await inner.getProducts({ ids: [request.id] });
        return { product: products[0] };
      },
    }),
  ];
  const interceptors = [rpcServerTracingInterceptor(tracing)];
  let transport: Transport;
  let url: string | undefined;
  if (wiring === "in process") {
    transport = createInProcessTransport({ services, interceptors });
  } else {
    const server = await createRpcServer({ services, interceptors });
    const network = createNetworkTransport({ baseUrl: server.address().url });
    cleanups.push(
      () => server.close(),
      () => network.close(),
    );
    url = server.address().url;
    transport = network;
  }
  const clientInterceptors = [rpcClientTracingInterceptor(tracing)];
  const catalog = createClient(CatalogService, transport, {
    caller: "orders",
    interceptors: clientInterceptors,
  });
  const inner = createClient(CatalogService, transport, {
    caller: "catalog",
    interceptors: clientInterceptors,
  });
  async function spans(): Promise<Map<string, ReadableSpan>> {
    await tracing.forceFlush();
    const byKind = new Map<string, ReadableSpan>();
    for (const span of exporter.getFinishedSpans()) {
      const method = span.name.slice(service.length + 1);
      byKind.set(`${SpanKind[span.kind]} ${method}`, span);
    }
    return byKind;
  }
  return { catalog, contexts, spans, url };
}

describe.each<Wiring>(["in process", "over the network"])(
  "rpcServerTracingInterceptor, %s",
  (wiring) => {
    it("chains client span → server span → nested client span → its server span in one trace", async () => {
      const { catalog, contexts, spans } = await setup(wiring);
      await catalog.getProduct({ id: "p1" });
      const all = await spans();
      const outerClient = all.get("CLIENT GetProduct");
      const outerServer = all.get("SERVER GetProduct");
      const innerClient = all.get("CLIENT GetProducts");
      const innerServer = all.get("SERVER GetProducts");
      expect(all.size).toBe(4);

      const traceId = outerClient?.spanContext().traceId;
      for (const span of all.values()) expect(span.spanContext().traceId).toBe(traceId);
      expect(outerClient?.parentSpanContext).toBeUndefined();
      expect(outerServer?.parentSpanContext?.spanId).toBe(outerClient?.spanContext().spanId);
      expect(innerClient?.parentSpanContext?.spanId).toBe(outerServer?.spanContext().spanId);
      expect(innerServer?.parentSpanContext?.spanId).toBe(innerClient?.spanContext().spanId);

      // Each server span is recorded under the ids the server gave its own context.
      expect(outerServer?.spanContext().spanId).toBe(contexts.get("GetProduct")?.trace?.spanId);
      expect(innerServer?.spanContext().spanId).toBe(contexts.get("GetProducts")?.trace?.spanId);

      expect(outerServer?.kind).toBe(SpanKind.SERVER);
      expect(outerServer?.name).toBe(`${service}/GetProduct`);
      expect(outerServer?.attributes).toEqual({
        "rpc.system.name": "connectrpc",
        "rpc.method": `${service}/GetProduct`,
      });
      expect(outerServer?.status.code).toBe(SpanStatusCode.UNSET);
    });

    it("records a failed call's code; ERROR only when the server failed", async () => {
      const { catalog, spans } = await setup(wiring);
      await expect(catalog.getProduct({ id: "missing" })).rejects.toMatchObject({
        code: Code.NotFound,
      });
      const answered = (await spans()).get("SERVER GetProduct");
      expect(answered?.status.code).toBe(SpanStatusCode.UNSET);
      expect(answered?.attributes).toMatchObject({
        "rpc.status_code": "not_found",
        "error.type": "not_found",
      });

      await expect(catalog.getProduct({ id: "broken" })).rejects.toMatchObject({
        code: Code.Internal,
      });
      const failed = (await spans()).get("SERVER GetProduct");
      expect(failed?.status).toEqual({ code: SpanStatusCode.ERROR, message: "store is broken" });
      expect(failed?.attributes).toMatchObject({ "rpc.status_code": "internal" });
    });
  },
);

/** A stock Connect client's call (curl, another stack): JSON, with only the headers given. */
function getProducts(url: string | undefined, headers: Record<string, string>) {
  return fetch(`${url}/${service}/GetProducts`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ ids: ["p1"] }),
  });
}

describe("rpcServerTracingInterceptor", () => {
  it("records a root server span for a caller that sends no traceparent", async () => {
    const { contexts, spans, url } = await setup("over the network");
    expect((await getProducts(url, {})).status).toBe(200);
    const server = (await spans()).get("SERVER GetProducts");
    expect(server?.spanContext().spanId).toBe(contexts.get("GetProducts")?.trace?.spanId);
    expect(server?.spanContext().traceId).toBe(contexts.get("GetProducts")?.trace?.traceId);
    expect(server?.parentSpanContext).toBeUndefined();
  });

  it("continues a foreign caller's trace, and records nothing of one it left unsampled", async () => {
    const { spans, url } = await setup("over the network");
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const sampled = await getProducts(url, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(sampled.status).toBe(200);
    const server = (await spans()).get("SERVER GetProducts");
    expect(server?.spanContext().traceId).toBe(traceId);
    expect(server?.parentSpanContext).toMatchObject({ spanId: "00f067aa0ba902b7", isRemote: true });

    const other = "5bf92f3577b34da6a3ce929d0e0e4737";
    const unsampled = await getProducts(url, { traceparent: `00-${other}-00f067aa0ba902b7-00` });
    expect(unsampled.status).toBe(200);
    const traces = [...(await spans()).values()].map((s) => s.spanContext().traceId);
    expect(traces).not.toContain(other);
  });

  it("is a pass-through when tracing is off", async () => {
    const off = await createTracing({ serviceName: "catalog", env: {} });
    const next: UnaryFn = () => Promise.reject(new Error("not called"));
    expect(rpcServerTracingInterceptor(off)(next)).toBe(next);
  });
});
