import type { Pool } from "pg";
import type { Db, Logger, Migration } from "@plexus/core";
import { advisoryLockClass, migrationLockKey } from "./advisory-lock-key.ts";
import { InFlight } from "./in-flight.ts";
import { applyMigrations } from "./migrator.ts";
import { PostgresNotifications } from "./postgres-notifications.ts";
import { postgresOpenFailure } from "./postgres-open-failure.ts";
import {
  adminPool,
  parseDatabaseUrl,
  redactUrl,
  servicePool,
  type PoolSettings,
} from "./postgres-pools.ts";
import { ensureServiceRole, serviceRole, type ServiceRole } from "./postgres-roles.ts";
import {
  inTransaction,
  migrationSession,
  run,
  type TransactionNotifications,
} from "./postgres-transaction.ts";
import { checkForService, serviceDb } from "./service-db.ts";
import type { Storage, StorageOptions } from "./storage.ts";
import { storageClosedError } from "./storage-errors.ts";
import { Wakeups } from "./wakeups.ts";

const defaultPoolMax = 5;
const defaultConnectTimeoutMs = 5000;

/** Opens a Postgres database: checks it answers, then hands out one login role and pool per service. */
export async function openPostgresStorage(options: StorageOptions): Promise<Storage> {
  const url = parseDatabaseUrl(options.databaseUrl ?? "");
  const connectTimeoutMs = options.connectTimeoutMs ?? defaultConnectTimeoutMs;
  const pools: PoolSettings = { url, connectTimeoutMs, logger: options.logger };
  const admin = adminPool(pools);
  try {
    const { rows } = await admin.query<{ db: string }>("SELECT current_database() AS db");
    return new PostgresStorage({
      pools,
      admin,
      database: rows[0]!.db,
      poolMax: options.poolMax ?? defaultPoolMax,
    });
  } catch (error) {
    await admin.end().catch(() => undefined);
    throw postgresOpenFailure(
      error,
      redactUrl(url),
      decodeURIComponent(url.pathname.slice(1)),
      connectTimeoutMs,
    );
  }
}

interface PostgresStorageInit {
  readonly pools: PoolSettings;
  readonly admin: Pool;
  readonly database: string;
  readonly poolMax: number;
}

/**
 * A Postgres database shared by the services of this process. Each service connects as its own
 * LOGIN role that owns its schema and has no privilege on any other: the server enforces the
 * isolation, and no session state (SET ROLE) has to be switched or reset on pooled connections.
 */
class PostgresStorage implements Storage {
  readonly kind = "postgres" as const;
  readonly #init: PostgresStorageInit;
  readonly #logger: Logger | undefined;
  readonly #pools = new Map<string, Pool>();
  readonly #inFlight = new InFlight();
  readonly #wakeups: Wakeups;
  readonly #notifications: PostgresNotifications;
  #closing: Promise<void> | undefined;

  constructor(init: PostgresStorageInit) {
    this.#init = init;
    this.#logger = init.pools.logger;
    this.#wakeups = new Wakeups(this.#logger);
    this.#notifications = new PostgresNotifications(init.admin, this.#wakeups, this.#logger);
  }

  async forService(name: string, migrations: readonly Migration[]): Promise<Db> {
    checkForService(this, name, migrations, () => this.#assertOpen());
    const pool = await this.#inFlight.track(async () => {
      const service = serviceRole(this.#init.pools.url, name);
      await ensureServiceRole(this.#init.admin, this.#init.database, service);
      const pool = this.#poolOf(service);
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

  #poolOf(service: ServiceRole): Pool {
    let pool = this.#pools.get(service.schema);
    if (!pool) {
      pool = servicePool(this.#init.pools, service, this.#init.poolMax);
      this.#pools.set(service.schema, pool);
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
          logger: this.#logger,
        });
        this.#logger?.debug({ service: schema, applied }, "service storage ready");
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
    const notifications: TransactionNotifications = {
      script: (channels) => this.#notifications.notifyScript(schema, channels),
      committed: (channels) => {
        for (const channel of channels) this.#wakeups.wake(schema, channel);
      },
    };
    return serviceDb(this, schema, {
      // Other processes may use the same database (and hold leases in it) at any time.
      exclusive: false,
      assertOpen: () => this.#assertOpen(),
      query: (text, params) => this.#inFlight.track(() => run(pool, text, params)),
      transaction: (fn) =>
        this.#inFlight.track(() => inTransaction(pool, schema, this, notifications, fn)),
      notify: (channel, options) => {
        this.#wakeups.wake(schema, channel);
        if (options?.local === true) return;
        const params = this.#notifications.notifyParams(schema, channel);
        this.#inFlight
          .track(() => run(pool, "SELECT pg_notify($1, $2)", params))
          .catch((error: unknown) => {
            this.#logger?.warn({ err: error, channel }, "Postgres NOTIFY failed");
          });
      },
      listen: (channel, wake) => this.#notifications.listen(schema, channel, wake),
    });
  }
}
