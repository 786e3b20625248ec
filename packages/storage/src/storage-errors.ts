import { Code, PlexusError } from "@plexus/core";

/** Work arriving after `close()`: Unavailable, so a caller can retry elsewhere during a drain. */
export function storageClosedError(): PlexusError {
  return new PlexusError(Code.Unavailable, "storage is closed");
}

/** A statement on a transaction handle after its transaction ended. */
export function transactionClosedError(schema: string): Error {
  return new Error(
    `storage: a statement ran on a transaction of "${schema}" that has already ended; ` +
      `await every tx.query() inside transaction(fn)`,
  );
}

/**
 * COMMIT of a transaction in which a statement failed (and the error was caught): Postgres rolls
 * it back instead. Same SQLSTATE (25P02, in_failed_sql_transaction) as PGlite reports.
 */
export function transactionAbortedError(): Error {
  return Object.assign(
    new Error("transaction was rolled back instead of committed: a statement in it failed"),
    { code: "25P02" },
  );
}
