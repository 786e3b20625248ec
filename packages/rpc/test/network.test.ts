import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  allCodes,
  Code,
  PlexusError,
  runInContext,
  type RpcInterceptor,
  type ServiceHandlers,
} from "@plexus/core";
import {
  bindService,
  createClient,
  createNetworkTransport,
  createRpcServer,
  type NetworkTransport,
  type RpcServer,
} from "@plexus/rpc";
import { afterEach, describe, expect, it } from "vitest";
import {
  CatalogService,
  catalogBinding,
  createProbe,
  expectErrorOfCode,
  type SeenContext,
} from "./fixtures.ts";

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
    const list = await catalog.listProducts({ page: 1, limit: 3, category: "kitchen" });
    expect(list.products.map((p) => p.id)).toEqual(["p-0", "p-1", "p-2"]);
  });

  it("returns every byte value of an answer unchanged", async () => {
    // A small HTTP/1.1 answer is written as a latin1 string with its head: bytes 0x80-0xff
    // (multi-byte UTF-8, high varint bytes) must survive that as they are.
    const name = `${String.fromCodePoint(...Array.from({ length: 0x800 }, (_, i) => i))}€😀`;
    const server = await createRpcServer({
      services: [
        bindService(CatalogService, {
          async getProduct() {
            return { product: { id: "all-bytes", name, priceCents: 2n ** 63n - 1n } };
          },
        } as unknown as ServiceHandlers<typeof CatalogService>),
      ],
    });
    resources.push(server);
    const catalog = createClient(CatalogService, transportTo(server, variant));
    const { product } = await catalog.getProduct({ id: "all-bytes" });
    expect(product?.name).toBe(name);
    expect(product?.priceCents).toBe(2n ** 63n - 1n);
  });

  it("round-trips every code with its message, reason, metadata and field details", async () => {
    const server = await startServer();
    const catalog = createClient(CatalogService, transportTo(server, variant));
    for (const code of allCodes) {
      const error = await failure(catalog.getProduct({ id: `error:${code}` }));
      expectErrorOfCode(error, code);
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

describe("network transport against non-Connect answers", () => {
  async function plainServer(status: number, type: string, body: string): Promise<string> {
    const server = createServer((_req, res) => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    resources.push({
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("maps bare HTTP errors with Connect's status table", async () => {
    const cases: [number, string, Code][] = [
      [503, "text/html", Code.Unavailable],
      [502, "text/plain", Code.Unavailable],
      [404, "text/html", Code.Unimplemented],
      [401, "text/html", Code.Unauthenticated],
      [400, "text/plain", Code.Internal],
      [418, "text/plain", Code.Unknown],
      // A JSON body that is not a Connect error still falls back on the status.
      [503, "application/json", Code.Unavailable],
    ];
    for (const [status, type, code] of cases) {
      const url = await plainServer(
        status,
        type,
        type === "application/json" ? "[]" : "<h1>no</h1>",
      );
      const transport = createNetworkTransport({ baseUrl: url });
      resources.push(transport);
      const error = await failure(createClient(CatalogService, transport).getProduct({ id: "ok" }));
      expect(error.code).toBe(code);
      expect(error.message).toBe(`HTTP ${status}`);
    }
  });

  it("rejects a 200 whose content type is not the codec's", async () => {
    const url = await plainServer(200, "text/html", "<html></html>");
    const transport = createNetworkTransport({ baseUrl: url });
    resources.push(transport);
    const error = await failure(createClient(CatalogService, transport).getProduct({ id: "ok" }));
    expect(error.code).toBe(Code.Unknown);
  });

  it("reports a refused connection as Unavailable without naming the address", async () => {
    const server = await startServer();
    const { url, port } = server.address();
    await server.close();
    const transport = createNetworkTransport({ baseUrl: url });
    resources.push(transport);
    const error = await failure(createClient(CatalogService, transport).getProduct({ id: "ok" }));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.message).not.toContain(String(port));
  });
});

describe("network transport options", () => {
  it("asks resolve() for the base URL of every call", async () => {
    const probeA = createProbe();
    const probeB = createProbe();
    const a = await startServer(probeA);
    const b = await startServer(probeB);
    let turn = 0;
    const transport = createNetworkTransport({
      resolve: () => (turn++ % 2 === 0 ? a : b).address().url,
    });
    resources.push(transport);
    const catalog = createClient(CatalogService, transport);
    for (let i = 0; i < 4; i++) await catalog.getProduct({ id: "ok" });
    expect([probeA.invocations, probeB.invocations]).toEqual([2, 2]);
  });

  it("reports a failing resolve() as Unavailable, or as the PlexusError it threw", async () => {
    const broken = createNetworkTransport({
      resolve: () => {
        throw new Error("registry down at 10.0.0.7");
      },
    });
    const empty = createNetworkTransport({
      resolve: () => {
        throw new PlexusError(Code.Unavailable, "no instance of catalog");
      },
    });
    resources.push(broken, empty);
    const error = await failure(createClient(CatalogService, broken).getProduct({ id: "ok" }));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.message).not.toContain("10.0.0.7");
    const none = await failure(createClient(CatalogService, empty).getProduct({ id: "ok" }));
    expect(none.message).toBe("no instance of catalog");
  });

  it("keeps a base URL's path prefix", async () => {
    const probe = createProbe();
    const server = await createRpcServer({
      services: [catalogBinding(probe)],
      fallback: (_req, res) => {
        (res as ServerResponse).writeHead(404).end();
      },
    });
    resources.push(server);
    // Routes live at the root: a prefix must reach the server as part of the path.
    const transport = createNetworkTransport({ baseUrl: `${server.address().url}/rpc/` });
    resources.push(transport);
    const error = await failure(createClient(CatalogService, transport).getProduct({ id: "ok" }));
    expect(error.code).toBe(Code.Unimplemented);
    expect(probe.invocations).toBe(0);
  });

  it("runs client interceptors, whose metadata reaches the server and back", async () => {
    const probe = createProbe();
    const stamp: RpcInterceptor = (next) =>
      async function stamp(request) {
        request.header.set("x-tenant", "acme");
        return next(request);
      };
    const serverTag: RpcInterceptor = (next) =>
      async function serverTag(request) {
        const response = await next(request);
        response.header.set("x-served-by", request.header.get("x-tenant") ?? "nobody");
        return response;
      };
    const server = await createRpcServer({
      services: [catalogBinding(probe)],
      interceptors: [serverTag],
    });
    resources.push(server);
    const seenBack: (string | null)[] = [];
    const readBack: RpcInterceptor = (next) =>
      async function readBack(request) {
        const response = await next(request);
        seenBack.push(response.header.get("x-served-by"));
        return response;
      };
    const catalog = createClient(CatalogService, transportTo(server), {
      interceptors: [readBack, stamp],
    });
    await catalog.getProduct({ id: "ok" }, { headers: { "x-extra": "1" } });
    expect(probe.headers[0]!.get("x-tenant")).toBe("acme");
    expect(probe.headers[0]!.get("x-extra")).toBe("1");
    expect(seenBack).toEqual(["acme"]);
  });
});
