import { createHmac } from "node:crypto";
import { Pool, type PoolClient, type PoolConfig } from "pg";
import {
  invalidSetting,
  type Db,
  type Logger,
  type Migration,
  type NotifyOptions,
  type SqlResult,
  type Sql,
} from "@plexus/core";
import { advisoryLockClass, migrationLockKey, setupLockKey } from "./advisory-lock-key.ts";
import { InFlight } from "./in-flight.ts";
import { PostgresNotifications } from "./postgres-notifications.ts";
import { postgresOpenFailure } from "./postgres-open-failure.ts";
import {
  inTransaction,
  migrationSession,
  run,
  type TransactionNotifications,
} from "./postgres-transaction.ts";
import { validateMigrations } from "./migration-plan.ts";
import { applyMigrations } from "./migrator.ts";
import { assertNotTransactionControl } from "./statement-guard.ts";
import { assertServiceName, quoteIdent, quoteLiteral, roleOf } from "./sql-names.ts";
import type { Storage, StorageOptions } from "./storage.ts";
import { storageClosedError } from "./storage-errors.ts";
import { assertOutsideTransaction } from "./transaction-scope.ts";
import { pgTypeParsers } from "./type-parsers.ts";
import { sqlStateOf } from "./unique-violation.ts";
import { assertChannel, Wakeups } from "./wakeups.ts";

const defaultPoolMax = 5;
const defaultConnectTimeoutMs = 5000;

/** Opens a Postgres database: checks it answers, then hands out one login role and pool per service. */
export async function openPostgresStorage(options: StorageOptions): Promise<Storage> {
  const url = parseUrl(options.databaseUrl ?? "");
  const connectTimeoutMs = options.connectTimeoutMs ?? defaultConnectTimeoutMs;
  const admin = new Pool({
    connectionString: url.href,
    // Setup and ping, plus the LISTEN connection of wake-ups once a service listens.
    max: 3,
    ...commonPoolConfig(connectTimeoutMs, "plexus-storage"),
  });
  watchPool(admin, options.logger, "admin");
  try {
    const { rows } = await admin.query<{ db: string }>("SELECT current_database() AS db");
    return new PostgresStorage({
      url,
      admin,
      database: rows[0]!.db,
      poolMax: options.poolMax ?? defaultPoolMax,
      connectTimeoutMs,
      logger: options.logger,
    });
  } catch (error) {
    await admin.end().catch(() => undefined);
    throw postgresOpenFailure(
      error,
      redact(url),
      decodeURIComponent(url.pathname.slice(1)),
      connectTimeoutMs,
    );
  }
}

interface PostgresStorageInit {
  readonly url: URL;
  readonly admin: Pool;
  readonly database: string;
  readonly poolMax: number;
  readonly connectTimeoutMs: number;
  readonly logger: Logger | undefined;
}

/**
 * A Postgres database shared by the services of this process. Each service connects as its own
 * LOGIN role that owns its schema and has no privilege on any other: the server enforces the
 * isolation, and no session state (SET ROLE) has to be switched or reset on pooled connections.
 */
class PostgresStorage implements Storage {
  readonly kind = "postgres" as const;
  readonly #init: PostgresStorageInit;
  readonly #pools = new Map<string, Pool>();
  readonly #inFlight = new InFlight();
  readonly #wakeups: Wakeups;
  readonly #notifications: PostgresNotifications;
  #closing: Promise<void> | undefined;

  constructor(init: PostgresStorageInit) {
    this.#init = init;
    this.#wakeups = new Wakeups(init.logger);
    this.#notifications = new PostgresNotifications(init.admin, this.#wakeups, init.logger);
  }

  async forService(name: string, migrations: readonly Migration[]): Promise<Db> {
    assertServiceName(name);
    validateMigrations(name, migrations);
    this.#assertOpen();
    assertOutsideTransaction(this, name);
    const pool = await this.#inFlight.track(async () => {
      await this.#ensureRoleAndSchema(name);
      const pool = this.#poolOf(name);
      await this.#migrate(pool, name, migrations);
      return pool;
    });
    return this.#db(name, pool);
  }

  async ping(): Promise<void> {
    this.#assertOpen();
    await this.#inFlight.track(() => this.#init.admin.query("SELECT 1"));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#inFlight.drained();
      await this.#notifications.close();
      await Promise.all([...this.#pools.values(), this.#init.admin].map((pool) => pool.end()));
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertOpen(): void {
    if (this.#closing) throw storageClosedError();
  }

  /** Creates the role and schema under a database-wide advisory lock (catalog rows race otherwise). */
  async #ensureRoleAndSchema(schema: string): Promise<void> {
    const role = roleOf(schema);
    const client = await this.#init.admin.connect();
    let broken = false;
    try {
      await client.query("SELECT pg_advisory_lock($1, $2)", [advisoryLockClass, setupLockKey]);
      try {
        const roles = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
        if (roles.rows.length === 0) await this.#createRole(client, role);
        await client.query(
          `ALTER ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(this.#init.database)} ` +
            `SET search_path TO ${quoteIdent(schema)}`,
        );
        const connect = await client.query<{ ok: boolean }>(
          "SELECT has_database_privilege($1, current_database(), 'CONNECT') AS ok",
          [role],
        );
        if (!connect.rows[0]?.ok) {
          await client.query(
            `GRANT CONNECT ON DATABASE ${quoteIdent(this.#init.database)} TO ${quoteIdent(role)}`,
          );
        }
        const owners = await client.query<{ owner: string }>(
          "SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1",
          [schema],
        );
        const owner = owners.rows[0]?.owner;
        if (owner === undefined) {
          await client.query(
            `CREATE SCHEMA ${quoteIdent(schema)} AUTHORIZATION ${quoteIdent(role)}`,
          );
        } else if (owner !== role) {
          throw new Error(
            `storage: schema "${schema}" exists but is owned by "${owner}", not "${role}"`,
          );
        }
      } finally {
        await client.query("SELECT pg_advisory_unlock($1, $2)", [advisoryLockClass, setupLockKey]);
      }
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      // A failed session may still hold the lock; destroying it releases the lock with it.
      client.release(broken);
    }
  }

  async #createRole(client: PoolClient, role: string): Promise<void> {
    const password = this.#passwordOf(role);
    try {
      await client.query(
        `CREATE ROLE ${quoteIdent(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE` +
          (password === undefined ? "" : ` PASSWORD ${quoteLiteral(password)}`),
      );
    } catch (error) {
      // Roles are cluster-wide: another database's storage may have just created it.
      const code = sqlStateOf(error);
      if (code !== "42710" && code !== "23505") throw error;
    }
  }

  /**
   * A service role's password, when the admin URL has one (servers without trust auth): derived
   * from it, so every replica computes the same one and none has to be stored.
   */
  #passwordOf(role: string): string | undefined {
    const adminPassword = decodeURIComponent(this.#init.url.password);
    if (adminPassword === "") return undefined;
    return createHmac("sha256", adminPassword).update(role).digest("base64url");
  }

  #poolOf(schema: string): Pool {
    let pool = this.#pools.get(schema);
    if (!pool) {
      const role = roleOf(schema);
      const url = new URL(this.#init.url.href);
      url.username = role;
      url.password = this.#passwordOf(role) ?? "";
      pool = new Pool({
        connectionString: url.href,
        max: this.#init.poolMax,
        ...commonPoolConfig(this.#init.connectTimeoutMs, `plexus:${schema}`),
      });
      watchPool(pool, this.#init.logger, schema);
      this.#pools.set(schema, pool);
    }
    return pool;
  }

  /** Migrates as the service's own role, holding a per-schema advisory lock against other processes. */
  async #migrate(pool: Pool, schema: string, migrations: readonly Migration[]): Promise<void> {
    const client = await pool.connect();
    let broken = false;
    const key = migrationLockKey(schema);
    try {
      await client.query("SELECT pg_advisory_lock($1, $2)", [advisoryLockClass, key]);
      try {
        const applied = await applyMigrations(migrationSession(client), {
          service: schema,
          schema,
          migrations,
          logger: this.#init.logger,
        });
        this.#init.logger?.debug({ service: schema, applied }, "service storage ready");
      } finally {
        await client.query("SELECT pg_advisory_unlock($1, $2)", [advisoryLockClass, key]);
      }
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  #db(schema: string, pool: Pool): Db {
    const query = async <R = Record<string, unknown>>(
      text: string,
      params?: readonly unknown[],
    ): Promise<SqlResult<R>> => {
      assertNotTransactionControl(text);
      this.#assertOpen();
      assertOutsideTransaction(this, schema);
      return this.#inFlight.track(() => run<R>(pool, text, params));
    };
    const notifications: TransactionNotifications = {
      script: (channels) => this.#notifications.notifyScript(schema, channels),
      committed: (channels) => {
        for (const channel of channels) this.#wakeups.wake(schema, channel);
      },
    };
    const transaction = async <T>(fn: (tx: Sql) => Promise<T>): Promise<T> => {
      this.#assertOpen();
      assertOutsideTransaction(this, schema);
      return this.#inFlight.track(() => inTransaction(pool, schema, this, notifications, fn));
    };
    const notify = (channel: string, options?: NotifyOptions): void => {
      assertChannel(channel);
      this.#assertOpen();
      assertOutsideTransaction(this, schema);
      this.#wakeups.wake(schema, channel);
      if (options?.local === true) return;
      const params = this.#notifications.notifyParams(schema, channel);
      this.#inFlight
        .track(() => run(pool, "SELECT pg_notify($1, $2)", params))
        .catch((error: unknown) => {
          this.#init.logger?.warn({ err: error, channel }, "Postgres NOTIFY failed");
        });
    };
    const listen = async (channel: string, wake: () => void): Promise<() => void> => {
      assertChannel(channel);
      this.#assertOpen();
      return this.#notifications.listen(schema, channel, wake);
    };
    // Other processes may use the same database (and hold leases in it) at any time.
    return { schema, exclusive: false, query, transaction, notify, listen };
  }
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
function watchPool(pool: Pool, logger: Logger | undefined, name: string): void {
  pool.on("error", (error) => {
    logger?.warn({ err: error, pool: name }, "idle Postgres connection failed; it is replaced");
  });
}

function parseUrl(databaseUrl: string): URL {
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

function redact(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password !== "") copy.password = "***";
  return copy.href;
}
