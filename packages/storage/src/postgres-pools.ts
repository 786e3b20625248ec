import { Pool, type PoolConfig } from "pg";
import { invalidSetting, type Logger } from "@plexus/core";
import { type ServiceRole } from "./postgres-roles.ts";
import { pgTypeParsers } from "./type-parsers.ts";

/** What every pool of a storage shares. */
export interface PoolSettings {
  readonly url: URL;
  readonly connectTimeoutMs: number;
  readonly logger: Logger | undefined;
}

/** The storage's own pool, as the URL's user: setup, ping, and the LISTEN connection of wake-ups. */
export function adminPool(settings: PoolSettings): Pool {
  return watched(
    new Pool({
      connectionString: settings.url.href,
      max: 3,
      ...commonPoolConfig(settings.connectTimeoutMs, "plexus-storage"),
    }),
    settings.logger,
    "admin",
  );
}

/** A service's pool: `max` connections as its own login role, on the same host and database. */
export function servicePool(settings: PoolSettings, service: ServiceRole, max: number): Pool {
  const url = new URL(settings.url.href);
  url.username = service.role;
  url.password = service.password ?? "";
  return watched(
    new Pool({
      connectionString: url.href,
      max,
      ...commonPoolConfig(settings.connectTimeoutMs, `plexus:${service.schema}`),
    }),
    settings.logger,
    service.schema,
  );
}

function commonPoolConfig(connectTimeoutMs: number, applicationName: string): PoolConfig {
  return {
    connectionTimeoutMillis: connectTimeoutMs,
    // Idle connections must not keep a finished process alive.
    allowExitOnIdle: true,
    types: pgTypeParsers,
    application_name: applicationName,
  };
}

/** An idle pooled connection that fails emits 'error' on the pool: unhandled, it kills the process. */
function watched(pool: Pool, logger: Logger | undefined, name: string): Pool {
  pool.on("error", (error) => {
    logger?.warn({ err: error, pool: name }, "idle Postgres connection failed; it is replaced");
  });
  return pool;
}

export function parseDatabaseUrl(databaseUrl: string): URL {
  try {
    const url = new URL(databaseUrl);
    if (url.protocol === "postgres:" || url.protocol === "postgresql:") return url;
  } catch {
    // reported below
  }
  // The URL may hold a password: never quoted.
  throw invalidSetting("DATABASE_URL", databaseUrl, "a postgres:// or postgresql:// URL", {
    secret: true,
    fix: "set DATABASE_URL to postgres://user[:password]@host:port/database, or unset it for the embedded PGlite",
  });
}

/** The URL as it may be shown: its password masked. */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password !== "") copy.password = "***";
  return copy.href;
}
