import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDataDir, startShop, type ShopProcess } from "../support/shop-process.ts";
import { request } from "../support/http.ts";

let shop: ShopProcess;
beforeAll(async () => {
  shop = await startShop();
});
afterAll(async () => {
  await shop.stop();
  await removeDataDir(shop.dataDir);
});

interface Product {
  id: string;
  name: string;
  category: string;
  priceCents: number;
  currency: string;
  stock: number;
}

async function allProducts(): Promise<Product[]> {
  const reply = await request(shop.url, "/api/v1/products?limit=100");
  expect(reply.status).toBe(200);
  return reply.body.data as Product[];
}

describe("GET /api/v1/products", () => {
  it("serves a seeded catalog: ≥ 20 products, ≥ 3 categories, stock ≥ 100", async () => {
    const products = await allProducts();
    expect(products.length).toBeGreaterThanOrEqual(20);
    expect(new Set(products.map((p) => p.category)).size).toBeGreaterThanOrEqual(3);
    for (const p of products) {
      expect(Object.keys(p).sort()).toEqual([
        "category",
        "currency",
        "id",
        "name",
        "priceCents",
        "stock",
      ]);
      expect(p.stock).toBeGreaterThanOrEqual(100);
      expect(Number.isInteger(p.priceCents)).toBe(true);
    }
  });

  it("paginates with links, null at the ends", async () => {
    const first = await request(shop.url, "/api/v1/products?page=1&limit=5");
    expect(first.status).toBe(200);
    const { pagination, _links, data } = first.body;
    expect(data).toHaveLength(5);
    expect(pagination).toMatchObject({ page: 1, limit: 5 });
    expect(pagination.total).toBeGreaterThanOrEqual(20);
    expect(pagination.totalPages).toBe(Math.ceil(pagination.total / 5));
    expect(_links.prev).toBeNull();
    expect(_links.next).toContain("page=2");
    expect(_links.self).toContain("page=1");
    const last = await request(shop.url, `/api/v1/products?page=${pagination.totalPages}&limit=5`);
    expect(last.body._links.next).toBeNull();
    expect(last.body._links.prev).toContain(`page=${pagination.totalPages - 1}`);
    const second = await request(shop.url, "/api/v1/products?page=2&limit=5");
    const ids = new Set([...data, ...second.body.data].map((p: Product) => p.id));
    expect(ids.size).toBe(10);
  });

  it("defaults to page 1, limit 20, and clamps a larger limit to 100", async () => {
    const plain = await request(shop.url, "/api/v1/products");
    expect(plain.body.pagination).toMatchObject({ page: 1, limit: 20 });
    const huge = await request(shop.url, "/api/v1/products?limit=5000");
    expect(huge.status).toBe(200);
    expect(huge.body.pagination.limit).toBe(100);
  });

  it.each(["limit=0", "limit=-1", "limit=abc", "page=0", "page=-3", "page=x", "limit=1.5"])(
    "answers 422 for %s",
    async (query) => {
      const reply = await request(shop.url, `/api/v1/products?${query}`);
      expect(reply.status).toBe(422);
      expect(reply.body.error.code).toBe("VALIDATION_ERROR");
      expect(reply.body.error.details[0].field).toBe(query.split("=")[0]);
    },
  );

  it("filters by category", async () => {
    const products = await allProducts();
    const category = products[0]!.category;
    const reply = await request(
      shop.url,
      `/api/v1/products?category=${encodeURIComponent(category)}&limit=100`,
    );
    expect(reply.status).toBe(200);
    expect(reply.body.data.length).toBe(products.filter((p) => p.category === category).length);
    expect(reply.body.data.every((p: Product) => p.category === category)).toBe(true);
    expect(reply.body.pagination.total).toBe(reply.body.data.length);
    const none = await request(shop.url, "/api/v1/products?category=no-such-category");
    expect(none.body).toMatchObject({ data: [], pagination: { total: 0, totalPages: 0 } });
  });

  it.each(["%00", `${"x".repeat(65)}`])(
    "answers 422 for a category catalog.proto refuses (%s)",
    async (category) => {
      const reply = await request(shop.url, `/api/v1/products?category=${category}`);
      expect(reply.status).toBe(422);
      expect(reply.body.error.code).toBe("VALIDATION_ERROR");
      expect(reply.body.error.details).toEqual([
        { field: "category", message: expect.any(String) },
      ]);
    },
  );
});

describe("GET /api/v1/products/{id}", () => {
  it("returns one product", async () => {
    const [product] = await allProducts();
    const reply = await request(shop.url, `/api/v1/products/${product!.id}`);
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual(product);
  });

  it.each([
    "does-not-exist",
    "00000000-0000-0000-0000-000000000000",
    "%27%20OR%201%3D1--",
    // Ids catalog.proto refuses (a NUL, too long) name no product: 404, not 422 or 500.
    "%00",
    "p%00x",
    "x".repeat(256),
  ])("answers 404 PRODUCT_NOT_FOUND for %s", async (id) => {
    const reply = await request(shop.url, `/api/v1/products/${id}`);
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe("PRODUCT_NOT_FOUND");
  });
});
