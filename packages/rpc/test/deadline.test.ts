import { Code, PlexusError, runInContext, type Clock, type Transport } from "@plexus/core";
import {
  bindService,
  createClient,
  createInProcessTransport,
  createNetworkTransport,
  createRpcServer,
} from "@plexus/rpc";
import { create } from "@bufbuild/protobuf";
import { countAbortControllers, countingTimers, createFakeClock } from "@plexus/testing";
import { Pool } from "undici";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GetProductRequestSchema } from "../../../apps/shop/gen/shop/catalog/v1/catalog_pb.js";
import {
  cachedProduct,
  CatalogService,
  catalogBinding,
  createProbe,
  failure,
  notUsedByTests,
  useCleanups,
  type TestProbe,
} from "./fixtures.ts";

const cleanups = useCleanups();

/** A real transport that counts the calls it is asked to carry. */
function counted(transport: Transport): Transport & { calls: number } {
  const wrapper = {
    calls: 0,
    unary(request: Parameters<Transport["unary"]>[0]) {
      wrapper.calls++;
      return transport.unary(request);
    },
  };
  return wrapper;
}

type Setup = (probe: TestProbe, clock?: Clock) => Promise<Transport>;

const setups: [string, Setup][] = [
  [
    "in-process",
    async (probe, clock) => createInProcessTransport({ services: [catalogBinding(probe)], clock }),
  ],
  ...(["1.1", "2"] as const).map((httpVersion): [string, Setup] => [
    `network HTTP/${httpVersion}`,
    async (probe, clock) => {
      const server = await createRpcServer({ services: [catalogBinding(probe)], clock });
      const transport = createNetworkTransport({
        baseUrl: server.address().url,
        httpVersion,
        clock,
      });
      cleanups.push(
        () => server.close(),
        () => transport.destroy(),
      );
      return transport;
    },
  ]),
];

describe.each(setups)("deadlines and cancellation (%s)", (_name, setup) => {
  it("fails fast when the context's deadline already passed, touching nothing", async () => {
    const probe = createProbe();
    const transport = counted(await setup(probe));
    const catalog = createClient(CatalogService, transport);
    const past = { correlationId: "c", requestId: "r", deadline: Date.now() - 1 };
    const error = await failure(runInContext(past, () => catalog.getProduct({ id: "ok" })));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(transport.calls).toBe(0);
    expect(probe.invocations).toBe(0);
  });

  it("never starts the handler when the transport is handed an expired call", async () => {
    const probe = createProbe();
    const transport = await setup(probe);
    const error = await failure(
      transport.unary({
        method: CatalogService.method.getProduct,
        message: create(GetProductRequestSchema, { id: "ok" }),
        header: new Headers(),
        context: {
          correlationId: "c",
          requestId: "r",
          deadline: Date.now() - 5,
          signal: new AbortController().signal,
        },
      }),
    );
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(probe.invocations).toBe(0);
  });

  it("uses the injected clock: a deadline past on that clock fails fast", async () => {
    const probe = createProbe();
    const transport = await setup(probe);
    const farFuture: Clock = {
      now: () => Date.now() + 3_600_000,
      setTimeout: (callback, ms) => setTimeout(callback, ms),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    };
    const catalog = createClient(CatalogService, transport, { clock: farFuture });
    const context = { correlationId: "c", requestId: "r", deadline: Date.now() + 60_000 };
    const error = await failure(runInContext(context, () => catalog.getProduct({ id: "ok" })));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(probe.invocations).toBe(0);
  });

  it("aborts the handler's signal when the deadline passes mid-call", async () => {
    const probe = createProbe();
    // One fake clock for client, transport and server: the deadline passes when the test says.
    const clock = createFakeClock(Date.now());
    const catalog = createClient(CatalogService, await setup(probe, clock), { clock });
    const pending = failure(catalog.getProduct({ id: "hang" }, { timeoutMs: 30 }));
    await probe.started;
    expect(probe.abortReasons).toEqual([]);
    clock.advance(30);
    const error = await pending;
    expect(error.code).toBe(Code.DeadlineExceeded);
    await vi.waitFor(() => expect(probe.abortReasons).toHaveLength(1));
    expect(probe.abortReasons[0]).toBeInstanceOf(PlexusError);
  });

  it("a caller's abort cancels the call in flight and the handler's signal", async () => {
    const probe = createProbe();
    const catalog = createClient(CatalogService, await setup(probe));
    const controller = new AbortController();
    const pending = catalog.getProduct({ id: "hang" }, { signal: controller.signal });
    await probe.started;
    controller.abort();
    const error = await failure(pending);
    expect(error.code).toBe(Code.Canceled);
    await vi.waitFor(() => expect(probe.abortReasons).toHaveLength(1));
    expect((probe.abortReasons[0] as PlexusError).code).toBe(Code.Canceled);
  });

  it("a parent call's abort cancels its child calls", async () => {
    const probe = createProbe();
    const catalog = createClient(CatalogService, await setup(probe));
    const parent = new AbortController();
    const context = { correlationId: "c", requestId: "r", signal: parent.signal };
    const pending = runInContext(context, () => catalog.getProduct({ id: "hang" }));
    await probe.started;
    parent.abort(new PlexusError(Code.DeadlineExceeded, "parent out of time"));
    const error = await failure(pending);
    expect(error.code).toBe(Code.DeadlineExceeded);
    await vi.waitFor(() => expect(probe.abortReasons).toHaveLength(1));
  });

  it("an already-aborted caller signal fails fast with Canceled", async () => {
    const probe = createProbe();
    const transport = counted(await setup(probe));
    const catalog = createClient(CatalogService, transport);
    const error = await failure(catalog.getProduct({ id: "ok" }, { signal: AbortSignal.abort() }));
    expect(error.code).toBe(Code.Canceled);
    expect(transport.calls).toBe(0);
  });
});

describe("server-side deadline (no client-side timer)", () => {
  async function rawCall(id: string, timeout: string, clock?: Clock) {
    const probe = createProbe();
    const server = await createRpcServer({ services: [catalogBinding(probe)], clock });
    const pool = new Pool(server.address().url);
    cleanups.push(
      () => server.close(),
      () => pool.close(),
    );
    const response = pool
      .request({
        path: "/shop.catalog.v1.CatalogService/GetProduct",
        method: "POST",
        headers: { "content-type": "application/json", "connect-timeout-ms": timeout },
        body: JSON.stringify({ id }),
      })
      .then(async (r) => ({ status: r.statusCode, body: await r.body.json() }));
    return { probe, response };
  }

  it("answers deadline_exceeded without starting the handler when the timeout is 0", async () => {
    const { probe, response } = await rawCall("ok", "0");
    const { status, body } = await response;
    expect(status).toBe(504);
    expect(body).toMatchObject({ code: "deadline_exceeded" });
    expect(probe.invocations).toBe(0);
  });

  it("answers deadline_exceeded and aborts the handler when the deadline passes", async () => {
    const clock = createFakeClock(Date.now());
    const { probe, response } = await rawCall("hang", "30", clock);
    await probe.started;
    clock.advance(30);
    const { status, body } = await response;
    expect(status).toBe(504);
    expect(body).toMatchObject({ code: "deadline_exceeded" });
    expect(probe.invocations).toBe(1);
    expect(probe.abortReasons).toHaveLength(1);
    expect((probe.abortReasons[0] as PlexusError).code).toBe(Code.DeadlineExceeded);
  });
});

describe("the cost of a deadline (one call scope, shared timer slots)", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("calls that finish in time arm no timer and create no AbortController of their own", async () => {
    const controllers = countAbortControllers();
    const clock = createFakeClock(Date.now());
    const { clock: counting, armed } = countingTimers(clock);
    // A handler that never looks at its signal, as most do not.
    const binding = bindService(CatalogService, {
      getProduct: async () => ({ product: cachedProduct }),
      listProducts: notUsedByTests,
      getProducts: notUsedByTests,
      reserveStock: notUsedByTests,
      releaseStock: notUsedByTests,
    });
    const transport = createInProcessTransport({ services: [binding], clock: counting });
    const catalog = createClient(CatalogService, transport, { clock: counting });
    const parent = { correlationId: "c", requestId: "r", deadline: clock.now() + 1_000 };
    for (let i = 0; i < 10; i++) {
      await catalog.getProduct({ id: "ok" }, { timeoutMs: 500 });
      await runInContext(parent, () => catalog.getProduct({ id: "ok" }));
    }
    // Client and server share the slots of the two deadlines the fake clock never leaves: one
    // timer and one controller each, whatever the number of calls.
    expect(armed()).toBe(2);
    expect(controllers()).toBe(2);
  });
});
