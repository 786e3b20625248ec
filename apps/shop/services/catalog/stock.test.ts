import { create } from "@bufbuild/protobuf";
import {
  Code,
  createLogger,
  systemClock,
  type Db,
  type PlexusError,
  type HandlerContext,
  type ServiceEnv,
} from "@plexus/core";
import { validatedHandlers } from "@plexus/rpc";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GetProductsRequestSchema,
  GetProductsResponseSchema,
  ReleaseStockRequestSchema,
  ReleaseStockResponseSchema,
  ReserveStockRequestSchema,
  ReserveStockResponseSchema,
} from "../../gen/shop/catalog/v1/catalog_pb.js";
import { catalogService } from "./service.ts";
import { createServiceTestEnv } from "../service-test-env.ts";
import {
  openServiceTestStorage,
  storageBackends,
  type ServiceTestStorage,
} from "../test-storage.ts";
import { errorOf } from "../test-errors.ts";

type Handlers = Awaited<ReturnType<typeof catalogService.create>>["handlers"];
interface Line {
  productId: string;
  quantity: number;
}

const ctx: HandlerContext = {
  context: { correlationId: "test-correlation", requestId: "test-request" },
  header: new Headers(),
  signal: new AbortController().signal,
};

// PGlite always; Postgres (real concurrency: row locks, blocked primary-key inserts) when it runs.
const backends = await storageBackends();

describe.each(backends)("catalog stock on $kind", ({ kind, available }) => {
  let opened: ServiceTestStorage | undefined;
  let db: Db;
  let handlers: Handlers;
  let counter = 0;

  beforeAll(async () => {
    if (!available) return;
    opened = await openServiceTestStorage(kind, "plexus_catalog", catalogService);
    ({ db } = opened);
    const env: ServiceEnv = createServiceTestEnv({
      name: catalogService.name,
      db,
      logger: createLogger({ name: "catalog-test", level: "silent" }),
      clock: systemClock,
      config: {},
    });
    handlers = validatedHandlers(
      catalogService.contract,
      (await catalogService.create(env)).handlers,
    );
  });

  afterAll(async () => {
    await opened?.close();
  });

  /** A product of this test alone, with the given stock. */
  async function product(stock: number): Promise<string> {
    const id = `prd_test-${++counter}`;
    await db.query(
      `INSERT INTO products (id, name, category, price_cents, currency, stock)
       VALUES ($1, $1, 'test', 100, 'EUR', $2)`,
      [id, stock],
    );
    return id;
  }

  async function stockOf(...ids: string[]): Promise<number[]> {
    const request = create(GetProductsRequestSchema, { ids });
    const { products } = create(
      GetProductsResponseSchema,
      await handlers.getProducts(request, ctx),
    );
    return ids.map((id) => products.find((p) => p.id === id)?.stock ?? Number.NaN);
  }

  async function reserve(reservationId: string, lines: Line[]) {
    const request = create(ReserveStockRequestSchema, { reservationId, lines });
    return create(ReserveStockResponseSchema, await handlers.reserveStock(request, ctx));
  }

  async function release(reservationId: string) {
    const request = create(ReleaseStockRequestSchema, { reservationId });
    return create(ReleaseStockResponseSchema, await handlers.releaseStock(request, ctx));
  }

  function id(name: string): string {
    return `${name}-${++counter}`;
  }

  describe.skipIf(!available)("GetProducts", () => {
    it("answers the known ids in the order asked, once each; unknown ids are absent", async () => {
      const [a, b] = [await product(5), await product(7)];
      const request = create(GetProductsRequestSchema, {
        ids: [b, "prd_nope", a, b, "", "x".repeat(300)],
      });
      const { products } = create(
        GetProductsResponseSchema,
        await handlers.getProducts(request, ctx),
      );
      expect(products.map((p) => [p.id, p.stock])).toEqual([
        [b, 7],
        [a, 5],
      ]);
      expect(products[0]).toMatchObject({ category: "test", priceCents: 100n, currency: "EUR" });
      expect(await handlers.getProducts(create(GetProductsRequestSchema, {}), ctx)).toEqual({
        products: [],
      });
    });

    it("refuses more than 100 ids", async () => {
      const ids = Array.from({ length: 101 }, (_, i) => `prd_${i}`);
      const error = await errorOf(
        handlers.getProducts(create(GetProductsRequestSchema, { ids }), ctx),
      );
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.reason).toBe("VALIDATION_ERROR");
      await handlers.getProducts(create(GetProductsRequestSchema, { ids: ids.slice(1) }), ctx);
    });
  });

  describe.skipIf(!available)("ReserveStock", () => {
    it("takes every line and merges lines of one product", async () => {
      const [a, b] = [await product(10), await product(10)];
      const reservationId = id("order");
      const answer = await reserve(reservationId, [
        { productId: a, quantity: 2 },
        { productId: b, quantity: 3 },
        { productId: a, quantity: 4 },
      ]);
      expect(answer.reservationId).toBe(reservationId);
      expect(answer.lines.map((l) => [l.productId, l.quantity])).toEqual([
        [a, 6],
        [b, 3],
      ]);
      expect(await stockOf(a, b)).toEqual([4, 7]);
    });

    it("can take the last unit, and not one more", async () => {
      const a = await product(3);
      await reserve(id("order"), [{ productId: a, quantity: 3 }]);
      expect(await stockOf(a)).toEqual([0]);
      const error = await errorOf(reserve(id("order"), [{ productId: a, quantity: 1 }]));
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.reason).toBe("OUT_OF_STOCK");
      expect(await stockOf(a)).toEqual([0]);
    });

    it("is idempotent by reservation id: the same answer, nothing more taken", async () => {
      const a = await product(10);
      const reservationId = id("order");
      const first = await reserve(reservationId, [{ productId: a, quantity: 4 }]);
      const again = await reserve(reservationId, [{ productId: a, quantity: 4 }]);
      expect(again).toEqual(first);
      // Another body under the same id still answers the stored reservation (the id is the key).
      const other = await reserve(reservationId, [{ productId: a, quantity: 1 }]);
      expect(other).toEqual(first);
      expect(await stockOf(a)).toEqual([6]);
    });

    it("takes nothing when any line is short (OUT_OF_STOCK names the line)", async () => {
      const [a, b] = [await product(10), await product(2)];
      const reservationId = id("order");
      const error = await errorOf(
        reserve(reservationId, [
          { productId: a, quantity: 5 },
          { productId: b, quantity: 3 },
        ]),
      );
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.reason).toBe("OUT_OF_STOCK");
      expect(error.details).toEqual([{ field: "lines[1].productId", message: "not enough stock" }]);
      expect(await stockOf(a, b)).toEqual([10, 2]);
      // Nothing was recorded: once stock is there, the same id can reserve.
      await db.query("UPDATE products SET stock = 3 WHERE id = $1", [b]);
      await reserve(reservationId, [
        { productId: a, quantity: 5 },
        { productId: b, quantity: 3 },
      ]);
      expect(await stockOf(a, b)).toEqual([5, 0]);
    });

    it("takes nothing for an unknown product (PRODUCT_NOT_FOUND wins over OUT_OF_STOCK)", async () => {
      const a = await product(1);
      const error = await errorOf(
        reserve(id("order"), [
          { productId: a, quantity: 5 },
          { productId: "prd_no-such-thing", quantity: 1 },
        ]),
      );
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.reason).toBe("PRODUCT_NOT_FOUND");
      expect(error.details.map((d) => d.field)).toEqual(["lines[1].productId"]);
      expect(await stockOf(a)).toEqual([1]);
    });

    it.each([
      ["an empty id", "", [{ productId: "prd_dune", quantity: 1 }], ["reservationId"]],
      ["no lines", "r", [], ["lines"]],
      ["quantity 0", "r", [{ productId: "prd_dune", quantity: 0 }], ["lines[0].quantity"]],
      ["quantity 1001", "r", [{ productId: "prd_dune", quantity: 1001 }], ["lines[0].quantity"]],
      [
        "a negative quantity",
        "r",
        [{ productId: "prd_dune", quantity: -1 }],
        ["lines[0].quantity"],
      ],
      ["an empty product id", "r", [{ productId: "", quantity: 1 }], ["lines[0].productId"]],
      [
        "101 lines",
        "r",
        Array.from({ length: 101 }, () => ({ productId: "prd_dune", quantity: 1 })),
        ["lines"],
      ],
    ])("refuses %s as a validation error", async (_name, reservationId, lines, fields) => {
      const error = await errorOf(reserve(reservationId, lines));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.reason).toBe("VALIDATION_ERROR");
      expect(error.details.map((d) => d.field)).toEqual(fields);
    });

    it("accepts 100 lines of up to 1000 units", async () => {
      const a = await product(100_000);
      const lines = Array.from({ length: 100 }, () => ({ productId: a, quantity: 1000 }));
      const answer = await reserve(id("order"), lines);
      expect(answer.lines).toHaveLength(1);
      expect(await stockOf(a)).toEqual([0]);
    });

    it("answers concurrent duplicates alike and takes the stock once", async () => {
      const [a, b] = [await product(50), await product(50)];
      const reservationId = id("order");
      const lines = [
        { productId: a, quantity: 3 },
        { productId: b, quantity: 2 },
      ];
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => reserve(reservationId, lines)),
      );
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(await stockOf(a, b)).toEqual([47, 48]);
    });

    it("never oversells under concurrent reservations (property)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 12 }),
          fc.array(
            fc.record({
              // Two products; each order takes from one or both.
              first: fc.integer({ min: 0, max: 5 }),
              second: fc.integer({ min: 0, max: 5 }),
              duplicate: fc.boolean(),
            }),
            { minLength: 1, maxLength: 12 },
          ),
          async (initial, orders) => {
            const [a, b] = [await product(initial), await product(initial)];
            const attempts = orders.flatMap((o, i) => {
              const lines: Line[] = [];
              if (o.first > 0) lines.push({ productId: a, quantity: o.first });
              if (o.second > 0) lines.push({ productId: b, quantity: o.second });
              if (lines.length === 0) lines.push({ productId: a, quantity: 1 });
              const reservationId = `${a}-order-${i}`;
              // Some orders are sent twice at once, as a retrying saga might.
              return o.duplicate
                ? [
                    { reservationId, lines },
                    { reservationId, lines },
                  ]
                : [{ reservationId, lines }];
            });
            const results = await Promise.allSettled(
              attempts.map((o) => reserve(o.reservationId, o.lines)),
            );
            const won = new Map<string, Line[]>();
            results.forEach((result, i) => {
              const attempt = attempts[i]!;
              if (result.status === "fulfilled") {
                won.set(attempt.reservationId, attempt.lines);
              } else {
                expect((result.reason as PlexusError).reason).toBe("OUT_OF_STOCK");
              }
            });
            const taken = (productId: string) =>
              [...won.values()]
                .flat()
                .filter((l) => l.productId === productId)
                .reduce((sum, l) => sum + l.quantity, 0);
            const [stockA, stockB] = await stockOf(a, b);
            expect(stockA).toBeGreaterThanOrEqual(0);
            expect(stockB).toBeGreaterThanOrEqual(0);
            expect(stockA).toBe(initial - taken(a));
            expect(stockB).toBe(initial - taken(b));
          },
        ),
        { numRuns: 15 },
      );
    });
  });

  describe.skipIf(!available)("ReleaseStock", () => {
    it("gives the stock back exactly once", async () => {
      const [a, b] = [await product(10), await product(10)];
      const reservationId = id("order");
      await reserve(reservationId, [
        { productId: a, quantity: 4 },
        { productId: b, quantity: 1 },
      ]);
      expect(await release(reservationId)).toMatchObject({ reservationId, released: true });
      expect(await stockOf(a, b)).toEqual([10, 10]);
      expect(await release(reservationId)).toMatchObject({ reservationId, released: false });
      expect(await stockOf(a, b)).toEqual([10, 10]);
    });

    it("gives back once under concurrent releases", async () => {
      const a = await product(10);
      const reservationId = id("order");
      await reserve(reservationId, [{ productId: a, quantity: 7 }]);
      const answers = await Promise.all(Array.from({ length: 8 }, () => release(reservationId)));
      expect(answers.filter((r) => r.released)).toHaveLength(1);
      expect(await stockOf(a)).toEqual([10]);
    });

    it("refuses a reservation after its release (RESERVATION_RELEASED), taking nothing", async () => {
      const a = await product(10);
      const reservationId = id("order");
      await reserve(reservationId, [{ productId: a, quantity: 2 }]);
      await release(reservationId);
      const error = await errorOf(reserve(reservationId, [{ productId: a, quantity: 2 }]));
      expect(error.code).toBe(Code.Aborted);
      expect(error.reason).toBe("RESERVATION_RELEASED");
      expect(await stockOf(a)).toEqual([10]);
    });

    it("records an unknown id as released, so a late reservation is refused (tombstone)", async () => {
      const a = await product(10);
      const reservationId = id("late-order");
      expect(await release(reservationId)).toMatchObject({ reservationId, released: false });
      const error = await errorOf(reserve(reservationId, [{ productId: a, quantity: 2 }]));
      expect(error.code).toBe(Code.Aborted);
      expect(error.reason).toBe("RESERVATION_RELEASED");
      expect(await stockOf(a)).toEqual([10]);
      expect((await release(reservationId)).released).toBe(false);
    });

    it("leaves the stock whole when a reservation races its own release", async () => {
      const a = await product(10);
      for (let i = 0; i < 10; i++) {
        const reservationId = id("race");
        const [reserved, released] = await Promise.allSettled([
          reserve(reservationId, [{ productId: a, quantity: 3 }]),
          release(reservationId),
        ]);
        expect(released.status).toBe("fulfilled");
        if (reserved.status === "rejected") {
          expect((reserved.reason as PlexusError).reason).toBe("RESERVATION_RELEASED");
        } else {
          // The reservation came first, so the release gave it back.
          expect(released.status === "fulfilled" && released.value.released).toBe(true);
        }
        expect(await stockOf(a)).toEqual([10]);
      }
    });

    it("refuses an empty id", async () => {
      const error = await errorOf(release(""));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.reason).toBe("VALIDATION_ERROR");
    });
  });
});
