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
}

/** One forward-only migration of a service's schema. Ids are applied in ascending order, once. */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}
