import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Clock, ServiceHandlers } from "@plexus/core";
import type { CatalogService, ProductSchema } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import { getProduct } from "../app/get-product.ts";
import { getProducts } from "../app/get-products.ts";
import { listProducts } from "../app/list-products.ts";
import type { ProductRepository } from "../app/product-repository.ts";
import { releaseStock } from "../app/release-stock.ts";
import { reserveStock } from "../app/reserve-stock.ts";
import type { StockRepository } from "../app/stock-repository.ts";
import type { Product } from "../domain/product.ts";

export interface CatalogHandlersOptions {
  readonly products: ProductRepository;
  readonly stock: StockRepository;
  /** Stamps reservations. */
  readonly clock: Clock;
}

function toMessage(product: Product): MessageInitShape<typeof ProductSchema> {
  return {
    id: product.id,
    name: product.name,
    category: product.category,
    priceCents: product.priceCents,
    currency: product.currency,
    stock: product.stock,
  };
}

/** The CatalogService contract, served from the product and stock repositories. */
export function createCatalogHandlers(
  options: CatalogHandlersOptions,
): ServiceHandlers<typeof CatalogService> {
  const { products, stock, clock } = options;
  return {
    async listProducts(request) {
      const page = await listProducts(products, request);
      return { products: page.products.map(toMessage), total: page.total };
    },
    async getProduct(request) {
      return { product: toMessage(await getProduct(products, request.id)) };
    },
    async getProducts(request) {
      return { products: (await getProducts(products, request.ids)).map(toMessage) };
    },
    async reserveStock(request) {
      const reserved = await reserveStock({ stock, clock }, request);
      return {
        reservationId: reserved.reservationId,
        lines: reserved.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
      };
    },
    async releaseStock(request) {
      const outcome = await releaseStock({ stock, clock }, request.reservationId);
      return { reservationId: request.reservationId, released: outcome.released };
    },
  };
}
