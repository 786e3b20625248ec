import { Code, type PlexusError } from "@plexus/core";
import {
  createClient,
  createInProcessTransport,
  createNetworkTransport,
  createRpcServer,
  type ServiceBinding,
} from "@plexus/rpc";
import { Pool } from "undici";
import { describe, expect, it } from "vitest";
import {
  CatalogService,
  catalogBinding,
  createProbe,
  failure,
  useCleanups,
  type TestProbe,
} from "./fixtures.ts";

const cleanups = useCleanups();

/** A NUL, which storage would refuse, in an id within the contract's length bounds. */
const hostile = { id: "p\u0000-1" };
const expectedDetails = [{ field: "id", message: "must not contain NUL characters" }];

async function served(probe: TestProbe): Promise<string> {
  const server = await createRpcServer({ services: [catalogBinding(probe)] });
  cleanups.push(() => server.close());
  return server.address().url;
}

function expectValidationError(error: PlexusError, details: unknown): void {
  expect([error.code, error.message]).toEqual([Code.InvalidArgument, "validation failed"]);
  expect(error.reason).toBe("VALIDATION_ERROR");
  expect(error.details).toEqual(details);
}

describe.each(["proto", "json"] as const)("a network RPC server (%s)", (codec) => {
  it("answers InvalidArgument with details to a NUL, and the handler never runs", async () => {
    const probe = createProbe();
    const transport = createNetworkTransport({ baseUrl: await served(probe), codec });
    cleanups.push(() => transport.close());
    const catalog = createClient(CatalogService, transport);
    expectValidationError(await failure(catalog.getProduct(hostile)), expectedDetails);
    expect(probe.invocations).toBe(0);
    // The contract's own rules, with JSON field paths.
    expectValidationError(await failure(catalog.getProduct({ id: "" })), [
      { field: "id", message: "must be 1 to 255 characters" },
    ]);
    const list = await failure(catalog.listProducts({ page: 0, limit: 101, category: "x" }));
    expect(list.details.map((d) => d.field)).toEqual(["page", "limit"]);
    expect(probe.invocations).toBe(0);
    await catalog.getProduct({ id: "ok" });
    expect(probe.invocations).toBe(1);
  });
});

describe("a network RPC server, from a stock client's raw JSON", () => {
  it("refuses a NUL with field details, and a lone surrogate, before the handler", async () => {
    const probe = createProbe();
    const pool = new Pool(await served(probe));
    cleanups.push(() => pool.close());
    const reserve = async (json: string) => {
      const response = await pool.request({
        method: "POST",
        path: "/shop.catalog.v1.CatalogService/ReserveStock",
        headers: { "content-type": "application/json" },
        body: json,
      });
      const body = (await response.body.json()) as { code: string; details?: unknown[] };
      return { status: response.statusCode, ...body };
    };
    const nul = await reserve(String.raw`{"reservationId":"r","lines":[{"productId":"p\u0000"}]}`);
    expect(nul).toMatchObject({ status: 400, code: "invalid_argument" });
    // ErrorInfo (VALIDATION_ERROR) and BadRequest (the field violations).
    expect(nul.details).toHaveLength(2);
    // The JSON decoder refuses a lone surrogate itself (the validator would, too).
    const surrogate = await reserve(String.raw`{"reservationId":"r-\ud800"}`);
    expect(surrogate).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(probe.invocations).toBe(0);
  });
});

describe("the in-process transport", () => {
  function inProcess(binding: ServiceBinding) {
    return createClient(CatalogService, createInProcessTransport({ services: [binding] }));
  }

  it("validates like the network server: InvalidArgument with details, handler never run", async () => {
    const probe = createProbe();
    let reserved = 0;
    const binding = catalogBinding(probe);
    const catalog = inProcess({
      contract: binding.contract,
      handlers: {
        ...binding.handlers,
        reserveStock: async () => {
          reserved++;
          return {};
        },
      },
    });
    expectValidationError(await failure(catalog.getProduct(hostile)), expectedDetails);
    // The copy a call is made of refuses a lone surrogate already.
    const surrogate = await failure(catalog.getProduct({ id: "p-\ud800" }));
    expect(surrogate.code).toBe(Code.InvalidArgument);
    expectValidationError(
      await failure(
        catalog.reserveStock({
          reservationId: "r-\u0000",
          lines: [
            { productId: "p-1", quantity: 1 },
            { productId: "p-2", quantity: 0 },
          ],
        }),
      ),
      [
        { field: "reservationId", message: "must not contain NUL characters" },
        { field: "lines[1].quantity", message: "must be an integer from 1 to 1000" },
      ],
    );
    expect(probe.invocations).toBe(0);
    expect(reserved).toBe(0);
    await catalog.reserveStock({ reservationId: "r", lines: [{ productId: "p", quantity: 1 }] });
    expect(reserved).toBe(1);
  });
});
