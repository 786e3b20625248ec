import { distinctProductIds } from "../domain/product-ids.ts";
import type { Product } from "../domain/product.ts";
import type { ProductRepository } from "./product-repository.ts";

/**
 * Reads several products at once, in the order first asked for; unknown ids are absent.
 */
export async function getProducts(
  products: ProductRepository,
  ids: readonly string[],
): Promise<Product[]> {
  const wanted = distinctProductIds(ids);
  if (wanted.length === 0) return [];
  const found = new Map((await products.findByIds(wanted)).map((p) => [p.id, p]));
  return wanted.flatMap((id) => {
    const product = found.get(id);
    return product ? [product] : [];
  });
}
