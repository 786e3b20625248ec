import { create } from "@bufbuild/protobuf";
import {
  Code,
  createLogger,
  systemClock,
  type HandlerContext,
  type ServiceEnv,
} from "@plexus/core";
import { validatedHandlers } from "@plexus/rpc";
import { openStorage, type Storage } from "@plexus/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GetProductRequestSchema,
  GetProductResponseSchema,
  ListProductsRequestSchema,
  ListProductsResponseSchema,
  type Product,
} from "../../gen/shop/catalog/v1/catalog_pb.js";
import { catalogService } from "./service.ts";
import { createServiceTestEnv } from "../service-test-env.ts";
import { errorOf } from "../test-errors.ts";

type Handlers = Awaited<ReturnType<typeof catalogService.create>>["handlers"];

const ctx: HandlerContext = {
  context: { correlationId: "test-correlation", requestId: "test-request" },
  header: new Headers(),
  signal: new AbortController().signal,
};

let storage: Storage;
let handlers: Handlers;

async function start(schema = catalogService.name): Promise<Handlers> {
  const env: ServiceEnv = createServiceTestEnv({
    name: catalogService.name,
    db: await storage.forService(schema, catalogService.migrations),
    logger: createLogger({ name: "catalog-test", level: "silent" }),
    clock: systemClock,
    config: {},
  });
  return validatedHandlers(catalogService.contract, (await catalogService.create(env)).handlers);
}

// Handlers answer init shapes (fields optional); `create` gives the message a client would see.
async function list(page: number, limit: number, category = "", on: Handlers = handlers) {
  const request = create(ListProductsRequestSchema, { page, limit, category });
  return create(ListProductsResponseSchema, await on.listProducts(request, ctx));
}

async function get(id: string) {
  const request = create(GetProductRequestSchema, { id });
  return create(GetProductResponseSchema, await handlers.getProduct(request, ctx));
}

async function everything(): Promise<Product[]> {
  const all = await list(1, 100);
  expect(all.total).toBeLessThanOrEqual(100);
  return all.products;
}

beforeAll(async () => {
  storage = await openStorage({});
  handlers = await start();
});

afterAll(async () => {
  await storage.close();
});

describe("catalog seed", () => {
  it("holds at least 20 sellable products in at least 3 categories", async () => {
    const products = await everything();
    expect(products.length).toBeGreaterThanOrEqual(20);
    expect(new Set(products.map((p) => p.category)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(products.map((p) => p.id)).size).toBe(products.length);
    for (const p of products) {
      expect(p.stock).toBeGreaterThanOrEqual(100);
      expect(p.priceCents).toBeGreaterThan(0n);
      expect(["EUR", "USD"]).toContain(p.currency);
      expect(p.name.length).toBeGreaterThan(0);
      expect(p.id).toMatch(/^prd_[a-z0-9-]+$/);
    }
  });

  it("is seeded once: opening the schema again applies nothing twice", async () => {
    const before = await list(1, 1);
    const again = await start();
    const after = await list(1, 1, "", again);
    expect(after.total).toBe(before.total);
  });
});

describe("ListProducts", () => {
  it("orders by name then id, and pages through the same sequence", async () => {
    const products = await everything();
    const sorted = [...products].sort((a, b) =>
      a.name === b.name ? (a.id < b.id ? -1 : 1) : a.name < b.name ? -1 : 1,
    );
    expect(products.map((p) => p.id)).toEqual(sorted.map((p) => p.id));

    const limit = 7;
    const paged: Product[] = [];
    for (let page = 1; ; page++) {
      const result = await list(page, limit);
      expect(result.total).toBe(products.length);
      paged.push(...result.products);
      if (result.products.length < limit) break;
    }
    expect(paged.map((p) => p.id)).toEqual(products.map((p) => p.id));
  });

  it("answers a page past the end with no products and the full total", async () => {
    const { total } = await list(1, 1);
    const beyond = await list(1000, 100);
    expect(beyond.products).toEqual([]);
    expect(beyond.total).toBe(total);
  });

  it("filters by exact category, with the total of that category", async () => {
    const products = await everything();
    const category = products[0]!.category;
    const expected = products.filter((p) => p.category === category);
    const result = await list(1, 100, category);
    expect(result.total).toBe(expected.length);
    expect(result.products.map((p) => p.id)).toEqual(expected.map((p) => p.id));

    const firstTwo = await list(1, 2, category);
    expect(firstTwo.total).toBe(expected.length);
    expect(firstTwo.products.map((p) => p.id)).toEqual(expected.slice(0, 2).map((p) => p.id));

    for (const unknown of ["no-such-category", category.toUpperCase(), `${category} `]) {
      expect(await list(1, 10, unknown)).toMatchObject({ products: [], total: 0 });
    }
  });

  it.each([
    [0, 10, ["page"]],
    [1, 0, ["limit"]],
    [1, 101, ["limit"]],
    [-3, -1, ["page", "limit"]],
  ])("rejects page=%i limit=%i as a validation error", async (page, limit, fields) => {
    const error = await errorOf(list(page, limit));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.reason).toBe("VALIDATION_ERROR");
    expect(error.details.map((d) => d.field)).toEqual(fields);
  });
});

describe("GetProduct", () => {
  it("returns a product exactly as listed", async () => {
    const [first] = await everything();
    const { product } = await get(first!.id);
    expect(product).toMatchObject({
      id: first!.id,
      name: first!.name,
      category: first!.category,
      priceCents: first!.priceCents,
      currency: first!.currency,
      stock: first!.stock,
    });
  });

  it.each([
    "prd_does-not-exist",
    "00000000-0000-0000-0000-000000000000",
    "not a uuid",
    "'; DROP TABLE products; --",
    "PRD_DUNE",
  ])("answers PRODUCT_NOT_FOUND for %j", async (id) => {
    const error = await errorOf(get(id));
    expect(error.code).toBe(Code.NotFound);
    expect(error.reason).toBe("PRODUCT_NOT_FOUND");
    expect((await list(1, 1)).total).toBeGreaterThanOrEqual(20);
  });

  // catalog.proto refuses these before the handler (the gateway answers them 404).
  it.each(["", "x".repeat(5000), "prd_\u0000"])("refuses id %j as invalid", async (id) => {
    expect((await errorOf(get(id))).reason).toBe("VALIDATION_ERROR");
    expect((await list(1, 1)).total).toBeGreaterThanOrEqual(20);
  });
});
