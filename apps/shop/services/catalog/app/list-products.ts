import { validateProductQuery, type ProductQueryInput } from "../domain/page-request.ts";
import type { ProductPage, ProductRepository } from "./product-repository.ts";

/**
 * Lists one page of products, optionally of one category.
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR` on a bad page, limit or category.
 */
export async function listProducts(
  products: ProductRepository,
  input: ProductQueryInput,
): Promise<ProductPage> {
  return products.list(validateProductQuery(input));
}
