import { createServer, type Server } from "node:http";
import { createServer as createHttp2Server, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import {
  Code as ConnectCode,
  ConnectError,
  createClient as createConnectClient,
  type HandlerContext as ConnectHandlerContext,
} from "@connectrpc/connect";
import {
  compressionGzip,
  connectNodeAdapter,
  createConnectTransport,
} from "@connectrpc/connect-node";
import { allCodes, Code, PlexusError, runInContext } from "@plexus/core";
import {
  BadRequestSchema,
  createClient,
  createNetworkTransport,
  createRpcServer,
  ErrorInfoSchema,
  type RpcServer,
} from "@plexus/rpc";
import { afterEach, describe, expect, it } from "vitest";
import { CatalogService, catalogBinding, createProbe, type SeenContext } from "./fixtures.ts";

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startPlexusServer(): Promise<RpcServer> {
  const server = await createRpcServer({ services: [catalogBinding(createProbe())] });
  cleanups.push(() => server.close());
  return server;
}

const stockVariants = [
  { httpVersion: "1.1", useBinaryFormat: true },
  { httpVersion: "1.1", useBinaryFormat: false },
  { httpVersion: "2", useBinaryFormat: true },
  { httpVersion: "2", useBinaryFormat: false },
] as const;

describe.each(stockVariants)(
  "stock Connect client (HTTP/$httpVersion, binary $useBinaryFormat) → Plexus server",
  (variant) => {
    function stockClient(server: RpcServer, extra: { gzip?: boolean } = {}) {
      const transport = createConnectTransport({
        baseUrl: server.address().url,
        ...variant,
        ...(extra.gzip === true ? { sendCompression: compressionGzip, compressMinBytes: 0 } : {}),
      });
      return createConnectClient(CatalogService, transport);
    }

    it("succeeds", async () => {
      const server = await startPlexusServer();
      const client = stockClient(server);
      const { product } = await client.getProduct({ id: "ok" });
      expect(product?.name).toBe("Kettle");
      expect(product?.priceCents).toBe(2999n);
    });

    it("accepts gzip-compressed requests", async () => {
      const server = await startPlexusServer();
      const response = await stockClient(server, { gzip: true }).listProducts({
        page: 1,
        limit: 2,
      });
      expect(response.products).toHaveLength(2);
    });

    it("decodes every code, the reason (ErrorInfo) and field violations (BadRequest)", async () => {
      const server = await startPlexusServer();
      const client = stockClient(server);
      for (const code of allCodes) {
        let caught: unknown;
        try {
          await client.getProduct({ id: `error:${code}` });
        } catch (error) {
          caught = error;
        }
        const error = ConnectError.from(caught);
        expect(error.code as number).toBe(code);
        expect(error.rawMessage).toBe(`failure ${code}`);
        const [info] = error.findDetails(ErrorInfoSchema);
        expect(info?.reason).toBe(`REASON_${code}`);
        expect(info?.domain).toBe("plexus");
        expect(info?.metadata).toEqual({ retryAfterMs: "250" });
        const [badRequest] = error.findDetails(BadRequestSchema);
        expect(badRequest?.fieldViolations.map((v) => [v.field, v.description])).toEqual([
          ["items[0].quantity", "must be at least 1"],
          ["email", "is not an email"],
        ]);
      }
    });

    it("gets unimplemented for an unknown method and a deadline_exceeded on timeout", async () => {
      const server = await startPlexusServer();
      const client = stockClient(server);
      const hang = await client
        .getProduct({ id: "hang" }, { timeoutMs: 50 })
        .catch((e: unknown) => e);
      expect(ConnectError.from(hang).code).toBe(ConnectCode.DeadlineExceeded);
      const unknownServer = await createRpcServer({ services: [] });
      cleanups.push(() => unknownServer.close());
      const unknown = await stockClient(unknownServer)
        .getProduct({ id: "ok" })
        .catch((e: unknown) => e);
      expect(ConnectError.from(unknown).code).toBe(ConnectCode.Unimplemented);
    });
  },
);

/** A stock connect-node server that echoes what it received, and fails on request. */
function stockRoutes(received: { headers: Headers[]; timeoutMs: (number | undefined)[] }) {
  return connectNodeAdapter({
    routes(router) {
      router.service(CatalogService, {
        async getProduct(request, context: ConnectHandlerContext) {
          received.headers.push(context.requestHeader);
          received.timeoutMs.push(context.timeoutMs());
          if (request.id === "ok") return { product: { id: "ok", name: "Stock" } };
          if (request.id === "missing") {
            throw new ConnectError("no such product", ConnectCode.NotFound, undefined, [
              { desc: ErrorInfoSchema, value: { reason: "PRODUCT_NOT_FOUND", domain: "shop" } },
              {
                desc: BadRequestSchema,
                value: { fieldViolations: [{ field: "id", description: "unknown id" }] },
              },
            ]);
          }
          throw new Error("stock server internals");
        },
        async listProducts() {
          return { products: [], total: 0 };
        },
      });
    },
  });
}

async function listen(server: Server | Http2Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe.each([
  { httpVersion: "1.1", codec: "proto" },
  { httpVersion: "1.1", codec: "json" },
  { httpVersion: "2", codec: "proto" },
  { httpVersion: "2", codec: "json" },
] as const)(
  "Plexus network transport ($codec, HTTP/$httpVersion) → stock connect-node server",
  (variant) => {
    async function startStock() {
      const received = { headers: [] as Headers[], timeoutMs: [] as (number | undefined)[] };
      const adapter = stockRoutes(received);
      const server =
        variant.httpVersion === "2" ? createHttp2Server(adapter) : createServer(adapter);
      const url = await listen(server);
      const transport = createNetworkTransport({ baseUrl: url, ...variant });
      cleanups.push(async () => {
        await transport.close();
        if ("closeAllConnections" in server) server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      });
      return { received, client: createClient(CatalogService, transport, { caller: "gateway" }) };
    }

    it("succeeds, sending the deadline and the propagation headers", async () => {
      const { received, client } = await startStock();
      const parent = {
        correlationId: "corr-interop",
        requestId: "r-1",
        trace: {
          traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
          spanId: "00f067aa0ba902b7",
          flags: "01",
        },
        principal: { subject: "user-1" },
      };
      const { product } = await runInContext(parent, () =>
        client.getProduct({ id: "ok" }, { timeoutMs: 10_000, idempotencyKey: "idem-1" }),
      );
      expect(product?.name).toBe("Stock");
      const headers = received.headers[0]!;
      expect(headers.get("x-correlation-id")).toBe("corr-interop");
      expect(headers.get("traceparent")).toMatch(
        /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/,
      );
      expect(headers.get("traceparent")).not.toContain("00f067aa0ba902b7");
      expect(headers.get("x-plexus-principal-subject")).toBe("user-1");
      expect(headers.get("idempotency-key")).toBe("idem-1");
      expect(headers.get("x-plexus-caller")).toBe("gateway");
      expect(received.timeoutMs[0]).toBeGreaterThan(0);
      expect(received.timeoutMs[0]).toBeLessThanOrEqual(10_000);
    });

    it("maps a Connect error with details back to a PlexusError", async () => {
      const { client } = await startStock();
      const error = (await client
        .getProduct({ id: "missing" })
        .catch((e: unknown) => e)) as PlexusError;
      expect(error).toBeInstanceOf(PlexusError);
      expect(error.code).toBe(Code.NotFound);
      expect(error.message).toBe("no such product");
      expect(error.reason).toBe("PRODUCT_NOT_FOUND");
      expect(error.details).toEqual([{ field: "id", message: "unknown id" }]);
      const internal = (await client
        .getProduct({ id: "other" })
        .catch((e: unknown) => e)) as PlexusError;
      expect(internal.code).toBe(Code.Internal);
      expect(internal.message).not.toContain("internals");
    });
  },
);

describe("our context over a stock hop", () => {
  it("a Plexus server continues the trace a stock client started", async () => {
    const probe = createProbe();
    const server = await createRpcServer({ services: [catalogBinding(probe)] });
    cleanups.push(() => server.close());
    const client = createConnectClient(
      CatalogService,
      createConnectTransport({ baseUrl: server.address().url, httpVersion: "1.1" }),
    );
    const { product } = await client.getProduct(
      { id: "context" },
      {
        headers: {
          traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
          "x-correlation-id": "from-curl",
        },
      },
    );
    const seen = JSON.parse(product!.name) as SeenContext;
    expect(seen.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(seen.spanId).not.toBe("00f067aa0ba902b7");
    expect(seen.correlationId).toBe("from-curl");
  });
});
