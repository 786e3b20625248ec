import { Code, PlexusError } from "@plexus/core";
import type { Product } from "../domain/product.ts";
import type { ProductRepository } from "./product-repository.ts";

/**
 * Reads one product.
 *
 * @throws PlexusError `NotFound` (`PRODUCT_NOT_FOUND`), also for an id that could never exist.
 */
export async function getProduct(products: ProductRepository, id: string): Promise<Product> {
  const product = await products.findById(id);
  if (!product) {
    throw new PlexusError(Code.NotFound, "product not found", { reason: "PRODUCT_NOT_FOUND" });
  }
  return product;
}
