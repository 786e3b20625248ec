import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { Db, Logger, Migration, Sql } from "@plexus/core";
import { lockDataDir, type DataDirLock } from "./data-dir-lock.ts";
import { InFlight } from "./in-flight.ts";
import { applyMigrations } from "./migrator.ts";
import { PgliteSession, sanitize } from "./pglite-session.ts";
import { createPglite } from "./pglite-template.ts";
import { SerialQueue } from "./serial-queue.ts";
import { checkForService, runTransactionBody, serviceDb } from "./service-db.ts";
import { roleOf } from "./sql-names.ts";
import type { Storage, StorageOptions } from "./storage.ts";
import { storageClosedError } from "./storage-errors.ts";
import { Wakeups } from "./wakeups.ts";

/** Opens the one PGlite of this process (on `dataDir`, or in memory). */
export async function openPgliteStorage(options: StorageOptions): Promise<Storage> {
  const logger = options.logger;
  let lock: DataDirLock | undefined;
  let pgData: string | undefined;
  if (options.dataDir !== undefined) {
    const root = resolve(options.dataDir);
    await mkdir(root, { recursive: true });
    lock = await lockDataDir(join(root, "storage.lock"));
    pgData = join(root, "pglite");
  }
  try {
    const started = performance.now();
    const { pglite, origin } = await createPglite(pgData, options.templateDir ?? tmpdir(), logger);
    logger?.info(
      { dataDir: pgData ?? "memory", from: origin, ms: Math.round(performance.now() - started) },
      "PGlite open",
    );
    return new PgliteStorage(pglite, lock, logger);
  } catch (error) {
    await lock?.release();
    throw error;
  }
}

/**
 * One PGlite (a single Postgres session, `PgliteSession`) shared by every service of the process.
 * Each service acts through its own NOLOGIN role owning its schema. A SerialQueue keeps "switch
 * the session to the service, then run" atomic across callers.
 */
class PgliteStorage implements Storage {
  readonly kind = "pglite" as const;
  readonly #pglite: PGlite;
  readonly #session: PgliteSession;
  readonly #lock: DataDirLock | undefined;
  readonly #logger: Logger | undefined;
  readonly #queue = new SerialQueue();
  readonly #inFlight = new InFlight();
  readonly #wakeups: Wakeups;
  #closing: Promise<void> | undefined;

  constructor(pglite: PGlite, lock: DataDirLock | undefined, logger: Logger | undefined) {
    this.#pglite = pglite;
    this.#session = new PgliteSession(pglite);
    this.#lock = lock;
    this.#logger = logger;
    this.#wakeups = new Wakeups(logger);
  }

  async forService(name: string, migrations: readonly Migration[]): Promise<Db> {
    checkForService(this, name, migrations, () => this.#assertOpen());
    const role = roleOf(name);
    await this.#exclusive(async () => {
      await this.#session.actAs(null, "public");
      await this.#session.ensureRoleAndSchema(role, name);
      await this.#session.actAs(role, name);
      const applied = await applyMigrations(this.#session.migrationSession(), {
        service: name,
        schema: name,
        migrations,
        logger: this.#logger,
      });
      this.#logger?.debug({ service: name, applied }, "service storage ready");
    });
    return this.#db(name, role);
  }

  async ping(): Promise<void> {
    this.#assertOpen();
    await this.#exclusive(() => this.#pglite.query("SELECT 1"));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#inFlight.drained();
      try {
        await this.#pglite.close();
      } finally {
        await this.#lock?.release();
      }
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertOpen(): void {
    if (this.#closing) throw storageClosedError();
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#inFlight.track(() => this.#queue.run(fn));
  }

  #db(schema: string, role: string): Db {
    const session = this.#session;
    const pglite = this.#pglite;
    const query = <R>(text: string, params: readonly unknown[] | undefined) =>
      this.#exclusive(async () => {
        await session.actAs(role, schema);
        try {
          return await session.run<R>(pglite, text, params);
        } finally {
          // Catch-all behind the statement guard: the one session must never be left inside
          // a transaction that the next service's statements would join.
          if (pglite.isInTransaction()) {
            await pglite.exec("ROLLBACK");
            // eslint-disable-next-line no-unsafe-finally
            throw new Error("storage: a statement left a transaction open; it was rolled back");
          }
        }
      });
    const transaction = async <T>(fn: (tx: Sql) => Promise<T>): Promise<T> => {
      const { result, notified } = await this.#exclusive(async () => {
        await session.actAs(role, schema);
        try {
          return await pglite.transaction((ptx) =>
            runTransactionBody(
              this,
              schema,
              <R>(text: string, params: readonly unknown[] | undefined) =>
                session.run<R>(ptx, text, params),
              fn,
            ),
          );
        } catch (error) {
          throw sanitize(error);
        }
      });
      // Committed: only now may listeners look (a rolled-back transaction threw above).
      if (notified) for (const channel of notified) this.#wakeups.wake(schema, channel);
      return result;
    };
    return serviceDb(this, schema, {
      // No other process can reach it: in memory, or on a data directory this process has locked.
      exclusive: true,
      assertOpen: () => this.#assertOpen(),
      query,
      transaction,
      // In-process wake-ups: no other process can open this database (PGlite's own LISTEN/NOTIFY
      // would cost statements on the one serialised session for the same effect).
      notify: (channel) => this.#wakeups.wake(schema, channel),
      listen: async (channel, wake) => this.#wakeups.add(schema, channel, wake),
    });
  }
}
