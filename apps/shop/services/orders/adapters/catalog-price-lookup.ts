import type { Client } from "@plexus/core";
import type { CatalogService } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import type { PriceLookup } from "../app/place-order.ts";

/** Bound of the price lookup: PlaceOrder answers at once, it must not wait long for prices. */
const lookupTimeoutMs = 2000;

/**
 * Current prices from the catalog (GetProducts: unknown ids are simply absent). Runs in the
 * PlaceOrder call's context, so it also carries that call's deadline and cancellation.
 */
export function createCatalogPriceLookup(catalog: Client<typeof CatalogService>): PriceLookup {
  return async (productIds) => {
    const { products } = await catalog.getProducts(
      { ids: [...productIds] },
      { timeoutMs: lookupTimeoutMs },
    );
    return products.map((p) => ({ id: p.id, priceCents: p.priceCents, currency: p.currency }));
  };
}
