/** A product as the catalog sells it. */
export interface Product {
  /** Stable id (`prd_<slug>`); seeded ids never change. */
  readonly id: string;
  readonly name: string;
  /** Lowercase category slug, e.g. `books`. */
  readonly category: string;
  /** Unit price in the currency's minor unit; always > 0. */
  readonly priceCents: bigint;
  /** ISO 4217 code. */
  readonly currency: string;
  /** Units available to reserve; never negative. */
  readonly stock: number;
}
