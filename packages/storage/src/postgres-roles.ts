import { createHmac } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import { advisoryLockClass, setupLockKey } from "./advisory-lock-key.ts";
import { ensureSchemaOwnedBy, roleExists, type CatalogQuery } from "./service-schema.ts";
import { quoteIdent, quoteLiteral, roleOf } from "./sql-names.ts";
import { sqlStateOf } from "./unique-violation.ts";

/** A service's login role on Postgres, and the schema it owns. */
export interface ServiceRole {
  readonly schema: string;
  readonly role: string;
  /** Undefined when the admin URL has none (trust auth). */
  readonly password: string | undefined;
}

/**
 * A service's role and password, when the admin URL has one (servers without trust auth): derived
 * from it, so every replica computes the same one and none has to be stored.
 */
export function serviceRole(adminUrl: URL, schema: string): ServiceRole {
  const role = roleOf(schema);
  const adminPassword = decodeURIComponent(adminUrl.password);
  const password =
    adminPassword === ""
      ? undefined
      : createHmac("sha256", adminPassword).update(role).digest("base64url");
  return { schema, role, password };
}

/**
 * Creates the service's role (may connect to `database`, searches its own schema) and schema,
 * under a database-wide advisory lock (catalog rows race otherwise).
 */
export async function ensureServiceRole(
  admin: Pool,
  database: string,
  service: ServiceRole,
): Promise<void> {
  const { schema, role } = service;
  const client = await admin.connect();
  const query: CatalogQuery = <R extends Record<string, unknown>>(
    text: string,
    params?: unknown[],
  ) => client.query<R>(text, params);
  let broken = false;
  try {
    await client.query("SELECT pg_advisory_lock($1, $2)", [advisoryLockClass, setupLockKey]);
    try {
      if (!(await roleExists(query, role))) await createRole(client, service);
      await client.query(
        `ALTER ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(database)} ` +
          `SET search_path TO ${quoteIdent(schema)}`,
      );
      const connect = await client.query<{ ok: boolean }>(
        "SELECT has_database_privilege($1, current_database(), 'CONNECT') AS ok",
        [role],
      );
      if (!connect.rows[0]?.ok) {
        await client.query(
          `GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(role)}`,
        );
      }
      await ensureSchemaOwnedBy(query, schema, role);
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

async function createRole(client: PoolClient, { role, password }: ServiceRole): Promise<void> {
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
