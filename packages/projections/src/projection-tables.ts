import type { Db } from "@plexus/core";

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

const ensured = new WeakMap<Db, Promise<void>>();

/**
 * Creates `plexus_projections` in the service's schema if it is missing: idempotent, safe to race
 * (under a transaction-scoped advisory lock per schema), cached per `Db`. The runner and the
 * rebuild call it. Not a migration, for the reason `ensureMessagingTables` gives: the service's
 * migration ids are its own.
 */
export function ensureProjectionTables(db: Db): Promise<void> {
  let done = ensured.get(db);
  if (!done) {
    done = db
      .transaction(async (tx) => {
        // 0x504c5850 = "PLXP"; the second key is per schema, so services do not wait for each other.
        await tx.query(
          "SELECT pg_advisory_xact_lock(1347180624, hashtext(current_schema() || '.plexus_projections'))",
        );
        for (const sql of statements) await tx.query(sql);
      })
      .catch((error: unknown) => {
        ensured.delete(db);
        throw error;
      });
    ensured.set(db, done);
  }
  return done;
}
