import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { serverUrl } from "./require-server.ts";

export interface TestDatabaseOptions {
  /**
   * Admin connection URL (a database the user may `CREATE DATABASE` from). Default:
   * `serverUrl("postgres")`, i.e. `PLEXUS_TEST_POSTGRES_URL` or
   * `postgres://postgres@127.0.0.1:5432/postgres` (trust auth on the test machines).
   */
  adminUrl?: string;
  /** Name prefix, to tell whose leftovers are whose. Default: `plexus_test`. */
  prefix?: string;
  /** The `psql` executable. Default: `psql` on PATH. */
  psql?: string;
  /** Bound of each `psql` run. Default: 15 000 ms (a `DROP ... WITH (FORCE)` may wait for backends). */
  timeoutMs?: number;
  /** Aborts creation. */
  signal?: AbortSignal;
}

/** A freshly created, uniquely named Postgres database. */
export interface TestDatabase {
  /** Its name: `<prefix>_<random hex>`. */
  readonly name: string;
  /** Connection URL of the new database (the admin URL with the database swapped). */
  readonly url: string;
  /** Drops it, disconnecting any session still using it. Idempotent once it succeeded. */
  drop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates a uniquely named Postgres database for one test file or test, so suites can run in
 * parallel without seeing each other's data.
 *
 * It shells out to `psql` rather than importing a driver: `@plexus/testing` stays free of vendor
 * dependencies, and the machines that run Postgres have its client.
 *
 * @example
 * const db = await createTestDatabase();
 * afterAll(() => db.drop());
 * const pool = new pg.Pool({ connectionString: db.url });
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? serverUrl("postgres");
  const prefix = options.prefix ?? "plexus_test";
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) {
    throw new TypeError(`invalid database name prefix "${prefix}"`);
  }
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const run = (sql: string, signal?: AbortSignal): Promise<void> =>
    runPsql(options.psql ?? "psql", adminUrl, sql, options.timeoutMs ?? 15_000, signal);

  await run(`CREATE DATABASE "${name}"`, options.signal);

  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  const drop = (): Promise<void> => {
    // FORCE (Postgres 13+): a pool a test forgot to close must not make the drop fail.
    dropped ??= run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch((err: unknown) => {
      dropped = undefined; // a failed drop may be retried
      throw err;
    });
    return dropped;
  };
  return { name, url: url.toString(), drop, [Symbol.asyncDispose]: drop };
}

function runPsql(
  psql: string,
  adminUrl: string,
  sql: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      psql,
      ["--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "--dbname", adminUrl, "-c", sql],
      { timeout: timeoutMs, signal, env: { ...process.env, PGCONNECT_TIMEOUT: "5" } },
      (error, _stdout, stderr) => {
        if (error) {
          const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
          reject(
            new Error(
              missing
                ? `"${psql}" not found: install the Postgres client (apt-get install postgresql-client)`
                : `psql failed running ${sql}: ${stderr.trim() || error.message}`,
              { cause: error },
            ),
          );
          return;
        }
        resolve();
      },
    );
  });
}
