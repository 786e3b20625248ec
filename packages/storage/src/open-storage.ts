import { openPgliteStorage } from "./pglite-storage.ts";
import { openPostgresStorage } from "./postgres-storage.ts";
import type { Storage, StorageOptions } from "./storage.ts";

/**
 * Opens the storage of one process: Postgres when `databaseUrl` is set, else one embedded PGlite
 * (on `dataDir`, or in memory). Open it once per process and call `forService` per service.
 *
 * @example
 * await using storage = await openStorage({ dataDir: ".data" });
 * const db = await storage.forService("catalog", [
 *   { id: 1, name: "products", sql: "CREATE TABLE products (id text PRIMARY KEY, title text NOT NULL)" },
 * ]);
 * await db.transaction(async (tx) => {
 *   await tx.query("INSERT INTO products (id, title) VALUES ($1, $2)", ["p1", "Mug"]);
 * });
 */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  if (options.databaseUrl !== undefined && options.databaseUrl !== "") {
    return openPostgresStorage(options);
  }
  return openPgliteStorage(options);
}
