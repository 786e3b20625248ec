import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { PGlite, Transaction } from "@electric-sql/pglite";
import type { Db, Logger, Migration, Sql, SqlResult } from "@plexus/core";
import { mapDataError } from "./data-error.ts";
import { lockDataDir, type DataDirLock } from "./data-dir-lock.ts";
import { InFlight } from "./in-flight.ts";
import { validateMigrations } from "./migration-plan.ts";
import { applyMigrations, type MigrationSession } from "./migrator.ts";
import { createPglite } from "./pglite-template.ts";
import { SerialQueue } from "./serial-queue.ts";
import { assertNotTransactionControl } from "./statement-guard.ts";
import { assertServiceName, quoteIdent, roleOf } from "./sql-names.ts";
import type { Storage, StorageOptions } from "./storage.ts";
import { storageClosedError, transactionClosedError } from "./storage-errors.ts";
import { assertOutsideTransaction, runInTransactionScope } from "./transaction-scope.ts";
import { assertChannel, Wakeups } from "./wakeups.ts";

/**
 * Statements that may change the session's role or search_path (or contain a name that looks
 * like it, such as a `role` column: harmless, it only costs a re-SET before the next statement).
 */
const mayChangeSession = /\b(role|search_path|authorization|set_config|reset|discard)\b/i;

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
 * One PGlite (a single Postgres session) shared by every service of the process. Each service
 * acts through its own NOLOGIN role owning its schema: before a statement (or a transaction) of
 * service S the session runs `SET ROLE plexus_svc_S; SET search_path TO S`, skipped when the
 * session already is S. A SerialQueue keeps "switch, then run" atomic across callers.
 */
class PgliteStorage implements Storage {
  readonly kind = "pglite" as const;
  readonly #pglite: PGlite;
  readonly #lock: DataDirLock | undefined;
  readonly #logger: Logger | undefined;
  readonly #queue = new SerialQueue();
  readonly #inFlight = new InFlight();
  readonly #wakeups: Wakeups;
  /** The role the session acts as: a service role, null for the superuser, undefined if unsure. */
  #sessionRole: string | null | undefined = undefined;
  #closing: Promise<void> | undefined;

  constructor(pglite: PGlite, lock: DataDirLock | undefined, logger: Logger | undefined) {
    this.#pglite = pglite;
    this.#lock = lock;
    this.#logger = logger;
    this.#wakeups = new Wakeups(logger);
  }

  async forService(name: string, migrations: readonly Migration[]): Promise<Db> {
    assertServiceName(name);
    validateMigrations(name, migrations);
    this.#assertOpen();
    assertOutsideTransaction(this, name);
    const role = roleOf(name);
    await this.#exclusive(async () => {
      await this.#actAs(null, "public");
      await this.#ensureRoleAndSchema(role, name);
      await this.#actAs(role, name);
      const applied = await applyMigrations(this.#migrationSession(), {
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

  async #actAs(role: string | null, schema: string): Promise<void> {
    if (this.#sessionRole === role) return;
    this.#sessionRole = undefined;
    await this.#pglite.exec(
      role === null
        ? "RESET ROLE; RESET search_path"
        : `SET ROLE ${quoteIdent(role)}; SET search_path TO ${quoteIdent(schema)}`,
    );
    this.#sessionRole = role;
  }

  async #ensureRoleAndSchema(role: string, schema: string): Promise<void> {
    const roles = await this.#pglite.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
    if (roles.rows.length === 0) {
      await this.#pglite.exec(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`);
    }
    const owners = await this.#pglite.query<{ owner: string }>(
      "SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1",
      [schema],
    );
    const owner = owners.rows[0]?.owner;
    if (owner === undefined) {
      await this.#pglite.exec(
        `CREATE SCHEMA ${quoteIdent(schema)} AUTHORIZATION ${quoteIdent(role)}`,
      );
    } else if (owner !== role) {
      throw new Error(
        `storage: schema "${schema}" exists but is owned by "${owner}", not "${role}"`,
      );
    }
  }

  #migrationSession(): MigrationSession {
    return {
      query: (text, params) => this.#run(this.#pglite, text, params),
      transaction: async (fn) => {
        await this.#pglite.transaction((ptx) =>
          fn({
            query: (text, params) => this.#run(ptx, text, params),
            exec: async (script) => {
              try {
                await ptx.exec(script);
              } catch (error) {
                throw sanitize(error);
              } finally {
                this.#noteStatement(script);
              }
              if (!this.#pglite.isInTransaction()) {
                throw new Error("a migration must not commit or roll back its own transaction");
              }
            },
          }),
        );
      },
    };
  }

  #db(schema: string, role: string): Db {
    const query = async <R = Record<string, unknown>>(
      text: string,
      params?: readonly unknown[],
    ): Promise<SqlResult<R>> => {
      assertNotTransactionControl(text);
      this.#assertOpen();
      assertOutsideTransaction(this, schema);
      return this.#exclusive(async () => {
        await this.#actAs(role, schema);
        try {
          return await this.#run<R>(this.#pglite, text, params);
        } finally {
          // Catch-all behind the statement guard: the one session must never be left inside
          // a transaction that the next service's statements would join.
          if (this.#pglite.isInTransaction()) {
            await this.#pglite.exec("ROLLBACK");
            // eslint-disable-next-line no-unsafe-finally
            throw new Error("storage: a statement left a transaction open; it was rolled back");
          }
        }
      });
    };
    const transaction = async <T>(fn: (tx: Sql) => Promise<T>): Promise<T> => {
      this.#assertOpen();
      assertOutsideTransaction(this, schema);
      let notified: Set<string> | undefined;
      const result = await this.#exclusive(async () => {
        await this.#actAs(role, schema);
        try {
          return await this.#pglite.transaction(async (ptx) => {
            let open = true;
            const tx: Sql = {
              query: async <R>(text: string, params?: readonly unknown[]) => {
                assertNotTransactionControl(text);
                if (!open) throw transactionClosedError(schema);
                return this.#run<R>(ptx, text, params);
              },
              notify(channel) {
                assertChannel(channel);
                if (!open) throw transactionClosedError(schema);
                (notified ??= new Set()).add(channel);
              },
            };
            try {
              return await runInTransactionScope(this, schema, () => fn(tx));
            } finally {
              open = false;
            }
          });
        } catch (error) {
          throw sanitize(error);
        }
      });
      // Committed: only now may listeners look (a rolled-back transaction threw above).
      if (notified) for (const channel of notified) this.#wakeups.wake(schema, channel);
      return result;
    };
    // In-process wake-ups: no other process can open this database (PGlite's own LISTEN/NOTIFY
    // would cost statements on the one serialised session for the same effect).
    const notify = (channel: string): void => {
      assertChannel(channel);
      this.#assertOpen();
      assertOutsideTransaction(this, schema);
      this.#wakeups.wake(schema, channel);
    };
    const listen = async (channel: string, wake: () => void): Promise<() => void> => {
      assertChannel(channel);
      this.#assertOpen();
      return this.#wakeups.add(schema, channel, wake);
    };
    // No other process can reach it: in memory, or on a data directory this process has locked.
    return { schema, exclusive: true, query, transaction, notify, listen };
  }

  async #run<R>(
    target: PGlite | Transaction,
    text: string,
    params: readonly unknown[] | undefined,
  ): Promise<SqlResult<R>> {
    try {
      const result = await target.query<R>(text, params === undefined ? undefined : [...params]);
      // affectedRows counts INSERT/UPDATE/DELETE rows; rows.length the rows a SELECT returned.
      return { rows: result.rows, rowCount: result.affectedRows || result.rows.length };
    } catch (error) {
      throw mapDataError(sanitize(error));
    } finally {
      this.#noteStatement(text);
    }
  }

  #noteStatement(text: string): void {
    if (mayChangeSession.test(text)) this.#sessionRole = undefined;
  }
}

/**
 * PGlite attaches the statement's parameters to its errors; they may hold personal data or
 * secrets and would end up in logs, so they are dropped (node-postgres does not attach them).
 */
function sanitize(error: unknown): unknown {
  if (typeof error === "object" && error !== null && "params" in error) {
    delete (error as { params?: unknown }).params;
    delete (error as { queryOptions?: unknown }).queryOptions;
  }
  return error;
}
