import type { PGlite, Transaction } from "@electric-sql/pglite";
import type { SqlResult } from "@plexus/core";
import { mapDataError } from "./data-error.ts";
import type { MigrationSession } from "./migrator.ts";
import { ensureSchemaOwnedBy, roleExists, type CatalogQuery } from "./service-schema.ts";
import { quoteIdent } from "./sql-names.ts";

/**
 * Statements that may change the session's role or search_path (or contain a name that looks
 * like it, such as a `role` column: harmless, it only costs a re-SET before the next statement).
 */
const mayChangeSession = /\b(role|search_path|authorization|set_config|reset|discard)\b/i;

/**
 * PGlite's one Postgres session, acting for one service at a time: before a statement (or a
 * transaction) of service S it runs `SET ROLE plexus_svc_S; SET search_path TO S`, skipped when
 * the session already is S. The caller serialises "switch, then run" (the storage's queue).
 */
export class PgliteSession {
  readonly pglite: PGlite;
  /** The role the session acts as: a service role, null for the superuser, undefined if unsure. */
  #role: string | null | undefined = undefined;

  constructor(pglite: PGlite) {
    this.pglite = pglite;
  }

  /** Acts as service role `role` on `schema` (null: the superuser, for setup). */
  async actAs(role: string | null, schema: string): Promise<void> {
    if (this.#role === role) return;
    this.#role = undefined;
    await this.pglite.exec(
      role === null
        ? "RESET ROLE; RESET search_path"
        : `SET ROLE ${quoteIdent(role)}; SET search_path TO ${quoteIdent(schema)}`,
    );
    this.#role = role;
  }

  /** As the superuser: creates the service's NOLOGIN role and the schema it owns. */
  async ensureRoleAndSchema(role: string, schema: string): Promise<void> {
    const query: CatalogQuery = (text, params) => this.run(this.pglite, text, params);
    if (!(await roleExists(query, role))) {
      await this.pglite.exec(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`);
    }
    await ensureSchemaOwnedBy(query, schema, role);
  }

  /** One statement on the session or in its open transaction. */
  async run<R>(
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

  migrationSession(): MigrationSession {
    return {
      query: (text, params) => this.run(this.pglite, text, params),
      transaction: async (fn) => {
        await this.pglite.transaction((ptx) =>
          fn({
            query: (text, params) => this.run(ptx, text, params),
            exec: async (script) => {
              try {
                await ptx.exec(script);
              } catch (error) {
                throw sanitize(error);
              } finally {
                this.#noteStatement(script);
              }
              if (!this.pglite.isInTransaction()) {
                throw new Error("a migration must not commit or roll back its own transaction");
              }
            },
          }),
        );
      },
    };
  }

  #noteStatement(text: string): void {
    if (mayChangeSession.test(text)) this.#role = undefined;
  }
}

/**
 * PGlite attaches the statement's parameters to its errors; they may hold personal data or
 * secrets and would end up in logs, so they are dropped (node-postgres does not attach them).
 */
export function sanitize(error: unknown): unknown {
  if (typeof error === "object" && error !== null && "params" in error) {
    delete (error as { params?: unknown }).params;
    delete (error as { queryOptions?: unknown }).queryOptions;
  }
  return error;
}
