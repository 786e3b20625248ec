import type { Db, Logger, Migration } from "@plexus/core";

export interface StorageOptions {
  /**
   * PGlite data directory; undefined = in-memory PGlite (tests). Ignored when `databaseUrl` is
   * set. PGlite's files go in `<dataDir>/pglite`, next to a `storage.lock` that keeps a second
   * process (or a second storage in this one) off the same files.
   */
  dataDir?: string;
  /**
   * Postgres connection string (`postgres://user[:password]@host:port/db`); when set, Postgres is
   * used instead of PGlite. Its user must be able to create roles and schemas (each service
   * gets a login role `plexus_svc_<name>` and a schema it owns). Service roles connect with the
   * same host and database, with no password (trust auth) or, when this URL has one, a password
   * derived from it, set when the role is created.
   */
  databaseUrl?: string;
  /**
   * PGlite only: a directory where a pristine cluster of the installed PGlite version is cached
   * (~40 MB), so a later new cluster (in memory, or a data directory's first open) loads it
   * instead of running initdb, several times slower. Default: the OS temp directory, which makes
   * test files that open a storage, and a first `plexus up`, several seconds faster. A data
   * directory that already holds a cluster never uses it. `false` always runs initdb.
   */
  templateDir?: string | false;
  /** Where open, migration and pool events are logged. Default: nothing is logged. */
  logger?: Logger;
  /**
   * Postgres only: connections per service pool. Default 5: each service gets its own pool (its
   * own login role), so a monolith of 8 services on one server stays at ~40 connections, well
   * under Postgres's default `max_connections` of 100.
   */
  poolMax?: number;
  /**
   * Postgres only: how long to wait for a new connection before failing. Default 5000 ms, so an
   * unreachable server fails a call instead of hanging it (node-postgres waits forever).
   */
  connectTimeoutMs?: number;
}

/**
 * The databases of the services of one process: one PGlite (embedded) or one Postgres database,
 * with a schema and a role per service.
 */
export interface Storage extends AsyncDisposable {
  readonly kind: "pglite" | "postgres";
  /**
   * Creates (if needed) the service's schema and role, applies its pending migrations in id order,
   * and returns a Db handle bound to that schema that cannot read other services' tables.
   *
   * Migrations: ids strictly ascending; each runs in its own transaction, as the service's role,
   * and must not contain BEGIN/COMMIT. An applied migration must never be removed, renamed or
   * renumbered (refused with an error), and new ones get ids above the newest applied one.
   *
   * The returned Db, alike on both backends:
   * - `query()` runs one statement with `$n` parameters; transaction control is refused.
   * - `transaction(fn)` commits when `fn` resolves and rolls back when it throws. Inside `fn`, use
   *   only `tx`: touching this storage otherwise (the same `db`, a nested `transaction`, another
   *   service's `db`, e.g. through an in-process call) throws, as it would deadlock the embedded
   *   PGlite. `SAVEPOINT` / `ROLLBACK TO SAVEPOINT` through `tx` are allowed.
   * - Errors keep the SQLSTATE as `code` (see `isUniqueViolation`), except those caused by a
   *   value (SQLSTATE class 22, e.g. a NUL byte or a string too long, and 54000): these are
   *   `PlexusError`s with code `InvalidArgument`, a message without SQL or values, and the
   *   database's error as `cause` — a caller's bad input, never the service's failure.
   * - `tx.notify(channel)` wakes the service's `db.listen(channel, wake)` listeners once the
   *   transaction commits (never if it rolls back): in this process on both backends, and on
   *   Postgres in every process on the database too (NOTIFY sent with the COMMIT; one LISTEN
   *   connection per storage, re-LISTENed when lost). Coalesced: keep a poll as the safety net.
   * - int8 → number (bigint beyond 2^53), date → 'YYYY-MM-DD', numeric → string,
   *   timestamptz → Date, json(b) → parsed. Pass json(b) parameters as `JSON.stringify(value)`.
   */
  forService(name: string, migrations: readonly Migration[]): Promise<Db>;
  /** Readiness: a trivial query succeeds. */
  ping(): Promise<void>;
  /** Refuses new work, waits for running statements and transactions, then closes. Idempotent. */
  close(): Promise<void>;
}
