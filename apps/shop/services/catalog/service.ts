import { defineService } from "@plexus/core";
import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { createCatalogHandlers } from "./adapters/rpc-handlers.ts";
import { createSqlProductRepository } from "./adapters/sql-product-repository.ts";
import { catalogMigrations } from "./migrations.ts";

/**
 * The product catalog: a seeded product list, paginated and filterable by category.
 *
 * @example
 * const db = await storage.forService(catalogService.name, catalogService.migrations);
 * const { handlers } = await catalogService.create({ ...env, db });
 */
export const catalogService = defineService({
  name: "catalog",
  contract: CatalogService,
  migrations: catalogMigrations,
  create: ({ db }) => ({ handlers: createCatalogHandlers(createSqlProductRepository(db)) }),
});
