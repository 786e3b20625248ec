import { create } from "@bufbuild/protobuf";
import {
  allCodes,
  Code,
  runInContext,
  type CallContext,
  type Client,
  type RpcInterceptor,
} from "@plexus/core";
import {
  createClient,
  createInProcessTransport,
  createNetworkTransport,
  createRpcServer,
} from "@plexus/rpc";
import { describe, expect, it } from "vitest";
import { GetProductRequestSchema } from "../../../apps/shop/gen/shop/catalog/v1/catalog_pb.js";
import {
  cachedProduct,
  CatalogService,
  catalogBinding,
  createProbe,
  expectErrorOfCode,
  failure,
  useCleanups,
  type SeenContext,
} from "./fixtures.ts";

const cleanups = useCleanups();

function inProcessClient(probe = createProbe(), interceptors: RpcInterceptor[] = []) {
  const transport = createInProcessTransport({ services: [catalogBinding(probe)], interceptors });
  return createClient(CatalogService, transport, { caller: "orders" });
}

const parentContext: CallContext = {
  correlationId: "corr-parent",
  requestId: "req-parent",
  trace: { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", flags: "01" },
  principal: { subject: "user-7", tier: "gold" },
};

describe("in-process transport", () => {
  it("calls the handler and returns the response", async () => {
    const catalog = inProcessClient();
    const { product } = await catalog.getProduct({ id: "ok" });
    expect(product?.name).toBe("Kettle");
  });

  it("round-trips every code with message, reason, metadata and details, without the cause", async () => {
    const catalog = inProcessClient();
    for (const code of allCodes) {
      const error = await failure(catalog.getProduct({ id: `error:${code}` }));
      expectErrorOfCode(error, code);
      expect(error.cause).toBeUndefined();
    }
  });

  it("normalises an unexpected error without leaking it", async () => {
    const error = await failure(inProcessClient().getProduct({ id: "boom" }));
    expect(error.code).toBe(Code.Unknown);
    expect(error.message).not.toContain("hunter2");
    expect(error.cause).toBeUndefined();
  });

  it("answers unimplemented for a method no hosted service serves", async () => {
    const transport = createInProcessTransport({ services: [] });
    const error = await failure(createClient(CatalogService, transport).getProduct({ id: "ok" }));
    expect(error.code).toBe(Code.Unimplemented);
  });

  it("derives the handler's context as a server would, across async boundaries", async () => {
    const probe = createProbe();
    const catalog = inProcessClient(probe);
    const { product } = await runInContext(parentContext, () =>
      catalog.getProduct({ id: "context" }, { idempotencyKey: "key-9", timeoutMs: 5_000 }),
    );
    const ctx = JSON.parse(product!.name) as SeenContext;
    expect(ctx.correlationId).toBe("corr-parent");
    expect(ctx.traceId).toBe(parentContext.trace!.traceId);
    expect(ctx.spanId).not.toBe(parentContext.trace!.spanId);
    expect(ctx.requestId).not.toBe("req-parent");
    expect(ctx.principal).toEqual({ subject: "user-7", tier: "gold" });
    expect(ctx.caller).toBe("orders");
    expect(ctx.idempotencyKey).toBe("key-9");
    expect(ctx.deadline).toBeGreaterThan(Date.now());
    expect(probe.headers[0]!.get("x-correlation-id")).toBe("corr-parent");
  });

  it("runs the server-side interceptors around the handler, in the handler's context", async () => {
    const seenBy: string[] = [];
    const tag: RpcInterceptor = (next) =>
      async function tag(request) {
        seenBy.push(`${request.method.name}:${request.context.correlationId}`);
        const response = await next(request);
        response.header.set("x-served-by", "tag");
        return response;
      };
    const catalog = inProcessClient(createProbe(), [tag]);
    await runInContext(parentContext, () => catalog.getProduct({ id: "ok" }));
    expect(seenBy).toEqual(["GetProduct:corr-parent"]);
  });

  it("passes messages by copy, both ways", async () => {
    const catalog = inProcessClient();
    // The handler mutates its request: the caller's object is untouched.
    const request = create(GetProductRequestSchema, { id: "mutate" });
    await catalog.getProduct(request);
    expect(request.id).toBe("mutate");
    // The caller mutates its request right after calling: the handler saw the original.
    const late = create(GetProductRequestSchema, { id: "ok" });
    const pending = catalog.getProduct(late);
    late.id = "boom";
    await expect(pending).resolves.toBeDefined();
    // The caller mutates the response: the handler's own object is untouched.
    const { product } = await catalog.getProduct({ id: "ok" });
    product!.name = "changed by caller";
    expect(cachedProduct.name).toBe("Kettle");
  });
});

describe("in-process and network calls are indistinguishable", () => {
  it("fails identically over both transports", async () => {
    const server = await createRpcServer({ services: [catalogBinding(createProbe())] });
    const network = createNetworkTransport({ baseUrl: server.address().url });
    cleanups.push(
      () => server.close(),
      () => network.close(),
    );
    const overNetwork = createClient(CatalogService, network);
    const inProcess = inProcessClient();
    const ids = [...allCodes.map((code) => `error:${code}`), "boom", "missing"];
    for (const id of ids) {
      const a = await failure(overNetwork.getProduct({ id }));
      const b = await failure(inProcess.getProduct({ id }));
      expect({ ...b, message: b.message }).toEqual({ ...a, message: a.message });
      expect([b.code, b.message, b.reason]).toEqual([a.code, a.message, a.reason]);
    }
  });

  it("keeps correlation id, trace and principal across a network hop then an in-process hop", async () => {
    // client --network--> A (hop) --in-process--> B (context)
    const probeB = createProbe();
    const toB = createClient(
      CatalogService,
      createInProcessTransport({ services: [catalogBinding(probeB)] }),
    );
    const server = await createRpcServer({
      services: [catalogBinding(createProbe(), () => toB)],
    });
    const network = createNetworkTransport({ baseUrl: server.address().url, httpVersion: "2" });
    cleanups.push(
      () => server.close(),
      () => network.close(),
    );
    const toA = createClient(CatalogService, network);
    await checkChain(toA);
  });

  it("keeps correlation id, trace and principal across an in-process hop then a network hop", async () => {
    // client --in-process--> A (hop) --network--> B (context)
    const server = await createRpcServer({ services: [catalogBinding(createProbe())] });
    const network = createNetworkTransport({ baseUrl: server.address().url });
    cleanups.push(
      () => server.close(),
      () => network.close(),
    );
    const toB = createClient(CatalogService, network);
    const toA = createClient(
      CatalogService,
      createInProcessTransport({ services: [catalogBinding(createProbe(), () => toB)] }),
    );
    await checkChain(toA);
  });
});

async function checkChain(toA: Client<typeof CatalogService>): Promise<void> {
  const { product } = await runInContext(parentContext, () =>
    toA.getProduct({ id: "hop" }, { timeoutMs: 5_000 }),
  );
  const { self, downstream } = JSON.parse(product!.name) as {
    self: SeenContext;
    downstream: string;
  };
  const b = JSON.parse(downstream) as SeenContext;
  for (const hop of [self, b]) {
    expect(hop.correlationId).toBe("corr-parent");
    expect(hop.traceId).toBe(parentContext.trace!.traceId);
    expect(hop.principal).toEqual({ subject: "user-7", tier: "gold" });
    expect(hop.deadline).toBeDefined();
  }
  const spans = new Set([parentContext.trace!.spanId, self.spanId, b.spanId]);
  expect(spans.size).toBe(3);
  const requestIds = new Set([parentContext.requestId, self.requestId, b.requestId]);
  expect(requestIds.size).toBe(3);
  // The deadline travels; a network hop re-anchors it on the server's clock (relative ms), so it
  // may move by the transit time, never by the caller's whole timeout.
  expect(Math.abs(b.deadline! - self.deadline!)).toBeLessThan(1_000);
}
