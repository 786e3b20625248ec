import type { Pool, PoolClient, QueryConfig } from "pg";
import type { Sql, SqlResult } from "@plexus/core";
import { mapDataError } from "./data-error.ts";
import type { MigrationSession } from "./migrator.ts";
import { runTransactionBody, type TransactionBody } from "./service-db.ts";
import { transactionAbortedError } from "./storage-errors.ts";
import { sqlStateOf } from "./unique-violation.ts";

/** What a transaction of a service does with the channels it notified. */
export interface TransactionNotifications {
  /** `NOTIFY` statements sent with the COMMIT, so other processes are woken by the commit. */
  script(channels: ReadonlySet<string>): string;
  /** After the commit: wakes this process's listeners. */
  committed(channels: ReadonlySet<string>): void;
}

/**
 * Runs `fn` in a transaction on a connection of `pool`. The channels `tx.notify`d are sent as
 * NOTIFYs in the COMMIT's round trip (unless `local`) and, once committed, wake this process's
 * listeners.
 */
export async function inTransaction<T>(
  pool: Pool,
  schema: string,
  owner: object,
  notifications: TransactionNotifications,
  fn: (tx: Sql) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  // Only a connection known to be outside any transaction goes back to the pool.
  let reusable = false;
  try {
    await client.query("BEGIN");
    let body: TransactionBody<T>;
    try {
      const onClient = <R>(text: string, params: readonly unknown[] | undefined) =>
        run<R>(client, text, params);
      body = await runTransactionBody(owner, schema, onClient, fn);
    } catch (error) {
      await client.query("ROLLBACK").then(
        () => (reusable = true),
        () => undefined,
      );
      throw error;
    }
    const { result, notified, everywhere } = body;
    let commit;
    try {
      // Several statements in one simple query: the results come as an array, COMMIT's last.
      const results: unknown = await client.query(
        everywhere ? `${notifications.script(everywhere)}COMMIT` : "COMMIT",
      );
      commit = (Array.isArray(results) ? results.at(-1) : results) as { command: string };
    } catch (error) {
      if (everywhere === undefined) {
        // A COMMIT refused by the server (deferred constraint, serialization) still ends the
        // transaction; one that failed on the wire leaves the connection unknown.
        reusable = sqlStateOf(error) !== undefined;
        throw error;
      }
      // A failed NOTIFY skips the COMMIT and leaves the transaction open (aborted): end it. After
      // a failed COMMIT, ROLLBACK only warns; on a broken connection it fails.
      reusable = await client.query("ROLLBACK").then(
        () => true,
        () => false,
      );
      // A statement failed (and was caught) inside: as a bare COMMIT reports it.
      if (sqlStateOf(error) === "25P02") throw transactionAbortedError();
      throw error;
    }
    reusable = true;
    if (commit.command === "ROLLBACK") throw transactionAbortedError();
    if (notified) notifications.committed(notified);
    return result;
  } finally {
    client.release(!reusable);
  }
}

/**
 * One statement, always through the extended protocol (as PGlite does): a parameterless string
 * with several statements is refused on both backends alike, and values are never interpolated.
 */
export async function run<R>(
  target: Pool | PoolClient,
  text: string,
  params: readonly unknown[] | undefined,
): Promise<SqlResult<R>> {
  const config: QueryConfig = { text, values: params === undefined ? [] : [...params] };
  try {
    const result = await target.query(Object.assign(config, { queryMode: "extended" }));
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  } catch (error) {
    throw mapDataError(error);
  }
}

export function migrationSession(client: PoolClient): MigrationSession {
  return {
    query: (text, params) => run(client, text, params),
    transaction: async (fn) => {
      await client.query("BEGIN");
      try {
        await fn({
          query: (text, params) => run(client, text, params),
          exec: async (script) => {
            await client.query(script);
          },
        });
        const commit = await client.query("COMMIT");
        if (commit.command === "ROLLBACK") throw transactionAbortedError();
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    },
  };
}
