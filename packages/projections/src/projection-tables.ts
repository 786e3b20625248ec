import { toolkitTables, type Db } from "@plexus/core";

/**
 * One checkpoint per projection of the service, in its own schema: the position of the last log
 * event applied, written in the transaction that applied it. `rebuilding` is true from a reset
 * until a rebuild (or a runner's start) has caught up with the log once.
 */
const statements: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS plexus_projections (
     name text PRIMARY KEY,
     position bigint NOT NULL,
     rebuilding boolean NOT NULL
   )`,
];

/**
 * Creates `plexus_projections` in the service's schema if it is missing (see core's
 * `toolkitTables`: idempotent, safe to race, cached per `Db`). The runner and the rebuild call it.
 */
export const ensureProjectionTables: (db: Db) => Promise<void> = toolkitTables(
  "plexus_projections",
  statements,
);
