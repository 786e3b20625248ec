/**
 * The one answer every `edge` contender must give: API.md's `GET /api/v1/products/{id}` → 200
 * `{"data": {"id", "name", "category", "priceCents", "currency", "stock"}}`, byte for byte as the
 * shop's gateway writes it, read from the catalog's `products` table. A contender that answers
 * anything else (a 404, a 429 from the rate limit, another body) fails the run: a bench must not
 * time wrong answers.
 */

/** A row of the catalog's `products` table, selected with {@link productColumns}. */
export interface ProductRow {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  /** bigint as text: one shape from every driver (as the catalog's own repository reads it). */
  readonly price_cents: string;
  readonly currency: string;
  readonly stock: number;
}

/** The columns the catalog's repository selects. */
export const productColumns =
  "id, name, category, price_cents::text AS price_cents, currency, stock";

/** The body of the 200 answer for `row`, keys in the gateway's order. */
export function productBody(row: ProductRow): string {
  return JSON.stringify({
    data: {
      id: row.id,
      name: row.name,
      category: row.category,
      priceCents: Number(row.price_cents),
      currency: row.currency,
      stock: Number(row.stock),
    },
  });
}

/** Throws, naming the contender and what it answered, unless it is a 200 with `expected`. */
export function checkAnswer(
  contender: string,
  status: number,
  body: string,
  expected: string,
): void {
  if (status === 200 && body === expected) return;
  const shown = body.length > 300 ? `${body.slice(0, 300)}…` : body;
  throw new Error(`${contender}: expected 200 ${expected}, got ${status} ${shown}`);
}
