import type { Product } from "../domain/product.ts";
import type { ProductQuery } from "../domain/page-request.ts";

/** One page of products and how many match the filter in all. */
export interface ProductPage {
  readonly products: readonly Product[];
  readonly total: number;
}

/** Persistence of products (the port the SQL adapter implements). */
export interface ProductRepository {
  /** One page in the stable listing order: name, then id, compared bytewise (code points). */
  list(query: ProductQuery): Promise<ProductPage>;
  /** Lookup by id; any string is accepted, a malformed id simply matches nothing. */
  findById(id: string): Promise<Product | undefined>;
  /** Lookup of several ids (at most 100, distinct); unknown ids are absent, in no given order. */
  findByIds(ids: readonly string[]): Promise<Product[]>;
}
