import type { Db } from "./store.ts";

/**
 * Tables the toolkit keeps in a service's schema (outbox, inbox, projection checkpoints), created
 * by idempotent statements at start-up rather than by migrations: a service's migration ids are
 * its own strictly ascending history, and toolkit tables slotted into it would either collide
 * with the service's ids or block its future ones.
 *
 * Returns the function that ensures them on a `Db`: once per `Db` (cached; a failure is retried
 * on the next call), under a transaction-scoped advisory lock per schema and `name`, so replicas
 * starting together do not trip over each other's `CREATE` and services do not wait for each
 * other. Call it outside any transaction. Evolve the tables by appending idempotent statements
 * (`ADD COLUMN IF NOT EXISTS`), never by editing them.
 */
export function toolkitTables(
  name: string,
  statements: readonly string[],
): (db: Db) => Promise<void> {
  const ensured = new WeakMap<Db, Promise<void>>();
  return (db) => {
    let done = ensured.get(db);
    if (!done) {
      done = db
        .transaction(async (tx) => {
          // 0x504c5854 = "PLXT".
          await tx.query(
            "SELECT pg_advisory_xact_lock(1347180628, hashtext(current_schema() || '.' || $1))",
            [name],
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
  };
}
