import { randomBytes } from "node:crypto";
import { Client } from "pg";

/** The server the suites use; override with PLEXUS_TEST_POSTGRES_URL. */
const serverUrl =
  process.env["PLEXUS_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * Whether the test Postgres answers. When it does not: a loud warning and `false` (the caller
 * skips its Postgres suites), except under CI=true, where a missing server fails the suite.
 */
export async function postgresAvailable(): Promise<boolean> {
  const client = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch (error) {
    if (process.env["CI"] === "true") {
      throw new Error(`Postgres is required under CI=true but ${serverUrl} is unreachable`, {
        cause: error,
      });
    }
    console.warn(
      `\n${"!".repeat(78)}\n!! Postgres unreachable at ${serverUrl}: SKIPPING the Postgres storage ` +
        `tests.\n!! Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n` +
        `${"!".repeat(78)}\n`,
    );
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A fresh database `plexus_test_<random>`; `drop()` removes it (closing its connections). */
export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `plexus_test_${randomBytes(6).toString("hex")}`;
  await onServer(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: () => onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function onServer(sql: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
