import { create } from "@bufbuild/protobuf";
import {
  allCodes,
  Code,
  currentContext,
  PlexusError,
  type CallContext,
  type Client,
  type ServiceHandlers,
} from "@plexus/core";
import { bindService, type ServiceBinding } from "@plexus/rpc";
import { afterEach, expect } from "vitest";
import {
  CatalogService,
  ProductSchema,
  type Product,
} from "../../../apps/shop/gen/shop/catalog/v1/catalog_pb.js";

export { CatalogService };

/** What the test handlers saw: how often they ran, in which context, and how they ended. */
export interface Probe {
  invocations: number;
  contexts: CallContext[];
  headers: Headers[];
  abortReasons: unknown[];
  /** Resolves the next time a handler starts. */
  started: Promise<void>;
  /** What `wait` handlers wait for; `open()` resolves it. */
  gate: Promise<void>;
}

export type TestProbe = Probe & { reset(): void; markStarted(): void; open(): void };

export function createProbe(): TestProbe {
  let markStarted: () => void = () => {};
  let open: () => void = () => {};
  const probe = {
    invocations: 0,
    contexts: [] as CallContext[],
    headers: [] as Headers[],
    abortReasons: [] as unknown[],
    started: Promise.resolve(),
    gate: new Promise<void>((resolve) => (open = resolve)),
    reset() {
      probe.started = new Promise<void>((resolve) => (markStarted = resolve));
    },
    markStarted: () => markStarted(),
    open: () => open(),
  };
  probe.reset();
  return probe;
}

/** The context a handler saw, flattened into JSON so it can travel in a response message. */
export interface SeenContext {
  correlationId: string;
  requestId: string;
  traceId: string | undefined;
  spanId: string | undefined;
  principal: CallContext["principal"];
  caller: string | undefined;
  idempotencyKey: string | undefined;
  deadline: number | undefined;
}

export function seen(ctx: CallContext | undefined): SeenContext {
  if (ctx === undefined) throw new Error("no current context");
  return {
    correlationId: ctx.correlationId,
    requestId: ctx.requestId,
    traceId: ctx.trace?.traceId,
    spanId: ctx.trace?.spanId,
    principal: ctx.principal,
    caller: ctx.caller,
    idempotencyKey: ctx.idempotencyKey,
    deadline: ctx.deadline,
  };
}

/** A product kept by the handler; returning it must not let a caller change it (copy semantics). */
export const cachedProduct: Product = create(ProductSchema, {
  id: "p-1",
  name: "Kettle",
  category: "kitchen",
  priceCents: 2999n,
  currency: "EUR",
  stock: 120,
});

/**
 * Test handlers for the shop's CatalogService. `getProduct` does what its id says:
 * - `ok`: returns the cached product;
 * - `boom`: throws a plain Error carrying secrets (must never reach the client);
 * - `error:<n>`: throws PlexusError(code n) with reason, metadata and field details;
 * - `hang`: waits for its signal to abort and records the reason;
 * - `wait`: waits for `probe.open()` (ignoring its signal), then returns the cached product;
 * - `context`: crosses async boundaries, then returns the current context as JSON in `name`;
 * - `hop`: calls `downstream` (`context`) and returns both contexts as JSON in `name`;
 * - `mutate`: mutates its request, then returns the cached product.
 */
/** For the catalog methods these tests never call. */
export async function notUsedByTests(): Promise<never> {
  throw new PlexusError(Code.Unimplemented, "not used by the rpc tests");
}

export function catalogHandlers(
  probe: TestProbe,
  downstream?: () => Client<typeof CatalogService>,
): ServiceHandlers<typeof CatalogService> {
  return {
    getProducts: notUsedByTests,
    reserveStock: notUsedByTests,
    releaseStock: notUsedByTests,
    async getProduct(request, { context, header, signal }) {
      probe.invocations++;
      probe.contexts.push(context);
      probe.headers.push(header);
      probe.markStarted();
      const id = request.id;
      if (id === "ok" || id === "mutate") {
        if (id === "mutate") request.id = "mutated-by-handler";
        return { product: cachedProduct };
      }
      if (id === "boom") throw new Error("password=hunter2 at /srv/app/db.ts:42");
      if (id.startsWith("error:")) {
        const code = Number(id.slice("error:".length)) as Code;
        throw new PlexusError(code, `failure ${code}`, {
          reason: `REASON_${code}`,
          details: [
            { field: "items[0].quantity", message: "must be at least 1" },
            { field: "email", message: "is not an email" },
          ],
          metadata: { retryAfterMs: "250" },
        });
      }
      if (id === "hang") {
        return new Promise((_resolve, reject) => {
          signal.addEventListener("abort", () => {
            probe.abortReasons.push(signal.reason);
            reject(signal.reason as Error);
          });
        });
      }
      if (id === "wait") {
        signal.addEventListener("abort", () => probe.abortReasons.push(signal.reason));
        await probe.gate;
        return { product: cachedProduct };
      }
      if (id === "context") {
        await new Promise((resolve) => setTimeout(resolve, 1));
        await Promise.resolve();
        return { product: { id, name: JSON.stringify(seen(currentContext())) } };
      }
      if (id === "hop") {
        const client = downstream?.();
        if (client === undefined) throw new PlexusError(Code.FailedPrecondition, "no downstream");
        const { product } = await client.getProduct({ id: "context" });
        return {
          product: {
            id,
            name: JSON.stringify({ self: seen(currentContext()), downstream: product?.name }),
          },
        };
      }
      throw new PlexusError(Code.NotFound, "product not found", { reason: "PRODUCT_NOT_FOUND" });
    },
    async listProducts(request) {
      const products = Array.from({ length: Math.min(request.limit, 50) }, (_, i) => ({
        id: `p-${i}`,
        name: `Product ${i}`,
        category: request.category,
        priceCents: BigInt(100 * i),
        currency: "EUR",
        stock: 100,
      }));
      return { products, total: products.length };
    },
  };
}

export function catalogBinding(
  probe: TestProbe,
  downstream?: () => Client<typeof CatalogService>,
): ServiceBinding {
  return bindService(CatalogService, catalogHandlers(probe, downstream));
}

/** Every code, for exhaustive round-trip tests. */
export { allCodes };

/** Registers an `afterEach` that runs, last first, every cleanup the test pushed. */
export function useCleanups(): (() => Promise<void>)[] {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });
  return cleanups;
}

/** The PlexusError `promise` rejects with (the test fails if it resolves or rejects otherwise). */
export async function failure(promise: Promise<unknown>): Promise<PlexusError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PlexusError);
  return error as PlexusError;
}

/** Asserts that `error` carries all that the `error:<code>` handler threw with. */
export function expectErrorOfCode(error: PlexusError, code: Code): void {
  expect(error.code).toBe(code);
  expect(error.message).toBe(`failure ${code}`);
  expect(error.reason).toBe(`REASON_${code}`);
  expect(error.metadata).toEqual({ retryAfterMs: "250" });
  expect(error.details).toEqual([
    { field: "items[0].quantity", message: "must be at least 1" },
    { field: "email", message: "is not an email" },
  ]);
}
