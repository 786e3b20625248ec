import { Code, PlexusError, validationError, type Client } from "@plexus/core";
import { paginate, parsePagination, type Gateway } from "@plexus/gateway";
import type { CatalogService, Product } from "../gen/shop/catalog/v1/catalog_pb.js";

const maxCategoryLength = 100;

function present(product: Product) {
  return {
    id: product.id,
    name: product.name,
    category: product.category,
    // int64 on the wire; prices are far below 2^53, so a JSON number is exact.
    priceCents: Number(product.priceCents),
    currency: product.currency,
    stock: product.stock,
  };
}

function readCategory(query: URLSearchParams): string {
  const values = query.getAll("category");
  if (values.length > 1) {
    throw validationError([{ field: "category", message: "must be given at most once" }]);
  }
  const category = values[0] ?? "";
  if (category.length > maxCategoryLength) {
    throw validationError([
      { field: "category", message: `must be at most ${maxCategoryLength} characters` },
    ]);
  }
  return category;
}

/** API.md "Catalog". */
export function addCatalogRoutes(gateway: Gateway, catalog: Client<typeof CatalogService>): void {
  gateway.route({
    method: "GET",
    path: "/api/v1/products",
    handler: async (req) => {
      const { page, limit } = parsePagination(req.query);
      const category = readCategory(req.query);
      const { products, total } = await catalog.listProducts({ page, limit, category });
      return { body: paginate(products.map(present), { page, limit, total }, req.url) };
    },
  });

  gateway.route({
    method: "GET",
    path: "/api/v1/products/:id",
    handler: async (req) => {
      const { product } = await catalog.getProduct({ id: req.params["id"] ?? "" });
      if (!product) {
        throw new PlexusError(Code.NotFound, "product not found", { reason: "PRODUCT_NOT_FOUND" });
      }
      return { body: { data: present(product) } };
    },
  });
}
