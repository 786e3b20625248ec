import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceHandlers } from "@plexus/core";
import type { CatalogService, ProductSchema } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import { getProduct } from "../app/get-product.ts";
import { listProducts } from "../app/list-products.ts";
import type { ProductRepository } from "../app/product-repository.ts";
import type { Product } from "../domain/product.ts";

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

/** The CatalogService contract, served from a product repository. */
export function createCatalogHandlers(
  products: ProductRepository,
): ServiceHandlers<typeof CatalogService> {
  return {
    async listProducts(request) {
      const page = await listProducts(products, request);
      return { products: page.products.map(toMessage), total: page.total };
    },
    async getProduct(request) {
      return { product: toMessage(await getProduct(products, request.id)) };
    },
  };
}
