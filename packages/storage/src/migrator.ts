import { createHash } from "node:crypto";
import type { Logger, Migration, Sql } from "@plexus/core";
import { pendingMigrations, type AppliedMigration } from "./migration-plan.ts";
import { quoteIdent } from "./sql-names.ts";
import { sqlStateOf } from "./unique-violation.ts";

/** A transaction of a migration session: one-statement queries plus multi-statement scripts. */
export interface MigrationTx extends Pick<Sql, "query"> {
  /** Runs a script of several statements (the simple query protocol). */
  exec(script: string): Promise<void>;
}

/**
 * A session that already acts as the service's role, bound to its schema, and holds whatever
 * lock keeps other processes from migrating the same schema at the same time.
 */
export interface MigrationSession extends Pick<Sql, "query"> {
  transaction(fn: (tx: MigrationTx) => Promise<void>): Promise<void>;
}

export interface ApplyMigrationsOptions {
  readonly service: string;
  readonly schema: string;
  readonly migrations: readonly Migration[];
  readonly logger: Logger | undefined;
}

/**
 * Applies the pending migrations of one service, each in its own transaction together with its
 * row in `<schema>.plexus_migrations`, so a crash leaves either both or neither.
 */
export async function applyMigrations(
  session: MigrationSession,
  options: ApplyMigrationsOptions,
): Promise<number> {
  const { service, migrations, logger } = options;
  const table = `${quoteIdent(options.schema)}.plexus_migrations`;
  await session.query(
    `CREATE TABLE IF NOT EXISTS ${table} (
       id bigint PRIMARY KEY,
       name text NOT NULL,
       checksum text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
  const { rows: applied } = await session.query<AppliedMigration>(
    `SELECT id, name, checksum FROM ${table} ORDER BY id`,
  );
  const pending = pendingMigrations(service, migrations, applied);

  const byId = new Map(migrations.map((m) => [m.id, m]));
  for (const a of applied) {
    const current = byId.get(a.id);
    if (current && checksumOf(current.sql) !== a.checksum) {
      // Not refused: reformatting an applied migration is harmless, but it is worth a look.
      logger?.warn(
        { service, migration: a.id, name: a.name },
        "an applied migration's sql has changed since it was applied; it is not re-run",
      );
    }
  }

  for (const m of pending) {
    try {
      await session.transaction(async (tx) => {
        await tx.exec(m.sql);
        await tx.query(`INSERT INTO ${table} (id, name, checksum) VALUES ($1, $2, $3)`, [
          m.id,
          m.name,
          checksumOf(m.sql),
        ]);
      });
    } catch (error) {
      throw migrationError(service, m, error);
    }
    logger?.info({ service, migration: m.id, name: m.name }, "migration applied");
  }
  return pending.length;
}

function checksumOf(sql: string): string {
  return createHash("sha256").update(sql).digest("hex");
}

function migrationError(service: string, m: Migration, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const error = new Error(`service "${service}": migration ${m.id} (${m.name}) failed: ${reason}`, {
    cause,
  });
  const code = sqlStateOf(cause);
  return code === undefined ? error : Object.assign(error, { code });
}
