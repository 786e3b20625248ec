import { productQueryOf, type ProductQueryInput } from "../domain/page-request.ts";
import type { ProductPage, ProductRepository } from "./product-repository.ts";

/**
 * Lists one page of products, optionally of one category.
 * Page, limit and category met catalog.proto's rules at the RPC boundary.
 */
export async function listProducts(
  products: ProductRepository,
  input: ProductQueryInput,
): Promise<ProductPage> {
  return products.list(productQueryOf(input));
}
