import { defineService } from "@plexus/core";
import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { createCatalogHandlers } from "./adapters/rpc-handlers.ts";
import { createSqlProductRepository } from "./adapters/sql-product-repository.ts";
import { createSqlStockRepository } from "./adapters/sql-stock-repository.ts";
import { catalogMigrations } from "./migrations.ts";

/**
 * The product catalog: a seeded product list, paginated and filterable by category, and its
 * stock, taken by reservations (all or nothing, idempotent by reservation id, never negative)
 * and given back by releases (once; a release of an unknown id leaves a tombstone).
 *
 * @example
 * const db = await storage.forService(catalogService.name, catalogService.migrations);
 * const { handlers } = await catalogService.create({ ...env, db });
 */
export const catalogService = defineService({
  name: "catalog",
  contract: CatalogService,
  migrations: catalogMigrations,
  create: ({ db, clock }) => ({
    handlers: createCatalogHandlers({
      products: createSqlProductRepository(db),
      stock: createSqlStockRepository(db),
      clock,
    }),
  }),
});
