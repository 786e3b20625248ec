import { allCodes, Code, PlexusError, runInContext } from "@plexus/core";
import {
  createClient,
  createNetworkTransport,
  createRpcServer,
  type NetworkTransport,
  type RpcServer,
} from "@plexus/rpc";
import { afterEach, describe, expect, it } from "vitest";
import { CatalogService, catalogBinding, createProbe, type SeenContext } from "./fixtures.ts";

const resources: { close(): Promise<void> }[] = [];

afterEach(async () => {
  while (resources.length > 0) await resources.pop()!.close();
});

async function startServer(probe = createProbe()): Promise<RpcServer> {
  const server = await createRpcServer({ services: [catalogBinding(probe)] });
  resources.push(server);
  return server;
}

function transportTo(
  server: RpcServer,
  options: { codec?: "proto" | "json"; httpVersion?: "1.1" | "2" } = {},
): NetworkTransport {
  const transport = createNetworkTransport({ baseUrl: server.address().url, ...options });
  resources.push(transport);
  return transport;
}

async function failure(promise: Promise<unknown>): Promise<PlexusError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PlexusError);
    return error as PlexusError;
  }
  throw new Error("expected the call to fail");
}

const variants = [
  { codec: "proto", httpVersion: "1.1" },
  { codec: "json", httpVersion: "1.1" },
  { codec: "proto", httpVersion: "2" },
  { codec: "json", httpVersion: "2" },
] as const;

describe.each(variants)("network transport ($codec, HTTP/$httpVersion)", (variant) => {
  it("calls a method and returns the response message", async () => {
    const server = await startServer();
    const catalog = createClient(CatalogService, transportTo(server, variant));
    const { product } = await catalog.getProduct({ id: "ok" });
    expect(product?.name).toBe("Kettle");
    expect(product?.priceCents).toBe(2999n);
    const list = await catalog.listProducts({ limit: 3, category: "kitchen" });
    expect(list.products.map((p) => p.id)).toEqual(["p-0", "p-1", "p-2"]);
  });

  it("round-trips every code with its message, reason, metadata and field details", async () => {
    const server = await startServer();
    const catalog = createClient(CatalogService, transportTo(server, variant));
    for (const code of allCodes) {
      const error = await failure(catalog.getProduct({ id: `error:${code}` }));
      expect(error.code).toBe(code);
      expect(error.message).toBe(`failure ${code}`);
      expect(error.reason).toBe(`REASON_${code}`);
      expect(error.metadata).toEqual({ retryAfterMs: "250" });
      expect(error.details).toEqual([
        { field: "items[0].quantity", message: "must be at least 1" },
        { field: "email", message: "is not an email" },
      ]);
    }
  });

  it("never leaks an unexpected error's message", async () => {
    const server = await startServer();
    const catalog = createClient(CatalogService, transportTo(server, variant));
    const error = await failure(catalog.getProduct({ id: "boom" }));
    expect(error.code).toBe(Code.Unknown);
    expect(error.message).not.toContain("hunter2");
    expect(JSON.stringify(error)).not.toContain("/srv/app");
  });

  it("propagates the context: same correlation id and trace, new span and request id", async () => {
    const probe = createProbe();
    const server = await startServer(probe);
    const catalog = createClient(CatalogService, transportTo(server, variant), {
      caller: "orders",
    });
    const parent = {
      correlationId: "corr-123",
      requestId: "req-parent",
      trace: {
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        flags: "01",
      },
      principal: { subject: "user-7", tier: "gold" },
    };
    const { product } = await runInContext(parent, () =>
      catalog.getProduct({ id: "context" }, { idempotencyKey: "key-1", timeoutMs: 5_000 }),
    );
    const ctx = JSON.parse(product!.name) as SeenContext;
    expect(ctx.correlationId).toBe("corr-123");
    expect(ctx.traceId).toBe(parent.trace.traceId);
    expect(ctx.spanId).not.toBe(parent.trace.spanId);
    expect(ctx.requestId).not.toBe("req-parent");
    expect(ctx.principal).toEqual({ subject: "user-7", tier: "gold" });
    expect(ctx.caller).toBe("orders");
    expect(ctx.idempotencyKey).toBe("key-1");
    expect(ctx.deadline).toBeGreaterThan(Date.now());
    // HTTP/1.1 carries `host`; HTTP/2 carries `:authority` instead, which handlers never see.
    expect(probe.headers[0]!.has("host")).toBe(variant.httpVersion === "1.1");
  });
});
