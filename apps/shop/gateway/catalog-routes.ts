import { create } from "@bufbuild/protobuf";
import { Code, PlexusError, validationError, type Client } from "@plexus/core";
import { paginate, parsePagination, type Gateway } from "@plexus/gateway";
import { violationsOf } from "@plexus/rpc";
import {
  GetProductRequestSchema,
  ListProductsRequestSchema,
  type CatalogService,
  type Product,
} from "../gen/shop/catalog/v1/catalog_pb.js";

function productNotFound(): PlexusError {
  return new PlexusError(Code.NotFound, "product not found", { reason: "PRODUCT_NOT_FOUND" });
}

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
  return values[0] ?? "";
}

/** API.md "Catalog". */
export function addCatalogRoutes(gateway: Gateway, catalog: Client<typeof CatalogService>): void {
  gateway.route({
    method: "GET",
    path: "/api/v1/products",
    handler: async (req) => {
      const { page, limit } = parsePagination(req.query);
      const request = create(ListProductsRequestSchema, {
        page,
        limit,
        category: readCategory(req.query),
      });
      // catalog.proto's rules (the category's length, no NUL), answered at the edge.
      const violations = violationsOf(ListProductsRequestSchema, request);
      if (violations.length > 0) throw validationError(violations);
      const { products, total } = await catalog.listProducts(request);
      return { body: paginate(products.map(present), { page, limit, total }, req.url) };
    },
  });

  gateway.route({
    method: "GET",
    path: "/api/v1/products/:id",
    handler: async (req) => {
      const request = create(GetProductRequestSchema, { id: req.params["id"] ?? "" });
      // An id catalog.proto refuses names no product: API.md answers unknown ids with 404.
      if (violationsOf(GetProductRequestSchema, request).length > 0) throw productNotFound();
      const { product } = await catalog.getProduct(request);
      if (!product) throw productNotFound();
      return { body: { data: present(product) } };
    },
  });
}
