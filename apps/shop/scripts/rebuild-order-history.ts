import { createLogger } from "@plexus/core";
import { rebuildProjection } from "@plexus/projections";
import { openStorage } from "@plexus/storage";
import { orderHistoryProjection, ordersService } from "../services/orders/service.ts";

/**
 * `npm run shop:rebuild-history`: rebuilds the CQRS order-history projection from the orders
 * event log, on the same storage `npm start` uses (`PLEXUS_DATA_DIR` or `DATABASE_URL`). On
 * Postgres it may run while the shop runs (its runners share the replay); with the embedded store,
 * stop the shop first: the data directory is locked by the running process.
 */
const logger = createLogger({ name: "rebuild-order-history" });
const storage = await openStorage({
  dataDir: process.env["PLEXUS_DATA_DIR"] ?? ".data",
  ...(process.env["DATABASE_URL"] ? { databaseUrl: process.env["DATABASE_URL"] } : {}),
  logger,
});
try {
  const db = await storage.forService(ordersService.name, ordersService.migrations);
  const report = await rebuildProjection(db, orderHistoryProjection);
  logger.info(report, "order history rebuilt");
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  await storage.close();
}
