import { pageWindow } from "../../page-request.ts";

/** What a client asks of a product listing. */
export interface ProductQueryInput {
  readonly page: number;
  readonly limit: number;
  readonly category: string;
}

/** A listing request as the repository takes it. */
export interface ProductQuery {
  readonly page: number;
  readonly limit: number;
  /** `undefined` lists every category. */
  readonly category: string | undefined;
  /** Rows to skip: `(page - 1) * limit`. */
  readonly offset: number;
}

/**
 * A listing request as the repository takes it. Page, limit and category met catalog.proto's
 * rules at the RPC boundary already; an empty category means every category.
 */
export function productQueryOf(input: ProductQueryInput): ProductQuery {
  const { page, limit, offset } = pageWindow(input);
  return { page, limit, category: input.category === "" ? undefined : input.category, offset };
}
