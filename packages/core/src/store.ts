/** Rows and count of one SQL statement. */
export interface SqlResult<R> {
  readonly rows: R[];
  readonly rowCount: number;
}

/** Something that runs SQL: a service's database handle or an open transaction. */
export interface Sql {
  /**
   * Runs one statement with `$1`-style parameters. The same SQL runs on PGlite and Postgres.
   * @example await db.query<{ id: string }>("SELECT id FROM users WHERE email = $1", [email])
   */
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<SqlResult<R>>;
  /**
   * Wakes the service's listeners of `channel` (`Db.listen`) once this work is committed: inside
   * a transaction at its commit (never if it rolls back), on a `Db` at once. Inside a transaction
   * it costs no statement (on Postgres the NOTIFY rides on the COMMIT's round trip). `channel`:
   * 1-40 lowercase letters, digits and `_`, starting with a letter.
   * @example await db.transaction(async (tx) => { await tx.query(insertJob, [job]); tx.notify("jobs"); })
   */
  notify(channel: string, options?: NotifyOptions): void;
}

/** Options of one `Sql.notify`. */
export interface NotifyOptions {
  /**
   * Wakes only this process's listeners: on Postgres no NOTIFY is sent. For a wake-up whose
   * listener that must act is known to be in this process (the outbox relay holding its lease):
   * on Postgres a transaction that NOTIFYs takes a database-wide lock at its commit, which
   * serialises the commits of every such writer. Default: false (every process's listeners).
   */
  readonly local?: boolean;
}

/**
 * A service's own database: bound to its schema, unable to see any other service's tables.
 * The Store port: adapters (PGlite, Postgres) live in `@plexus/storage`.
 */
export interface Db extends Sql {
  /** The schema this handle is bound to (the service's name). */
  readonly schema: string;
  /**
   * Whether this process has the database to itself: true for the embedded PGlite (in memory, or
   * on a data directory this process holds locked), false for Postgres (several processes may
   * share it). When true, a lease found in it whose owner is not alive in this process was left
   * by a dead process, so it can be taken over at once rather than after it expires.
   */
  readonly exclusive: boolean;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Calls `wake` soon after work of this service that notified `channel` (`Sql.notify`) commits:
   * in this process, and on Postgres in every process on the same database (LISTEN/NOTIFY). Many
   * commits close together may wake it once: it is a "look again" signal, not a message, so keep
   * polling as the safety net (a wake-up is lost when a process dies between commit and delivery).
   * `wake` runs in the async context of this call and must not throw. Resolves once listening (on
   * Postgres: LISTEN ran, or failed and is retried in the background), to a function that stops it.
   */
  listen(channel: string, wake: () => void): Promise<() => void>;
}

/** One forward-only migration of a service's schema. Ids are applied in ascending order, once. */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}
