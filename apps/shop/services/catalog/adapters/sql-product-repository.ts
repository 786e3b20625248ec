import type { Sql } from "@plexus/core";
import type { Product } from "../domain/product.ts";
import type { ProductRepository } from "../app/product-repository.ts";

interface ProductRow {
  id: string;
  name: string;
  category: string;
  price_cents: string;
  currency: string;
  stock: number;
}

// bigint comes back as a string from pg and as a number or bigint from PGlite depending on its
// parsers; casting to text in SQL gives one shape on both, and BigInt() keeps every digit.
const columns = "id, name, category, price_cents::text AS price_cents, currency, stock";

function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    name: row.name,
    category: row.category,
    priceCents: BigInt(row.price_cents),
    currency: row.currency,
    stock: Number(row.stock),
  };
}

/** Products in the catalog's own schema. */
export function createSqlProductRepository(db: Sql): ProductRepository {
  return {
    async list(query) {
      // `$1::text IS NULL` lets one statement serve both the filtered and the full listing.
      const filter = "($1::text IS NULL OR category = $1::text)";
      const category = query.category ?? null;
      const [page, count] = await Promise.all([
        db.query<ProductRow>(
          `SELECT ${columns} FROM products WHERE ${filter} ORDER BY name COLLATE "C", id COLLATE "C" LIMIT $2 OFFSET $3`,
          [category, query.limit, query.offset],
        ),
        db.query<{ total: number }>(`SELECT count(*)::int AS total FROM products WHERE ${filter}`, [
          category,
        ]),
      ]);
      return { products: page.rows.map(toProduct), total: Number(count.rows[0]?.total ?? 0) };
    },
    async findById(id) {
      const result = await db.query<ProductRow>(`SELECT ${columns} FROM products WHERE id = $1`, [
        id,
      ]);
      const row = result.rows[0];
      return row ? toProduct(row) : undefined;
    },
    async findByIds(ids) {
      const result = await db.query<ProductRow>(
        `SELECT ${columns} FROM products WHERE id = ANY($1::text[])`,
        [ids],
      );
      return result.rows.map(toProduct);
    },
  };
}
