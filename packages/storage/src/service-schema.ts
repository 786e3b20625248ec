import { quoteIdent } from "./sql-names.ts";

/** A catalog query on the storage's setup session (PGlite's one session, a Postgres admin client). */
export type CatalogQuery = <R extends Record<string, unknown>>(
  text: string,
  params?: unknown[],
) => Promise<{ rows: R[] }>;

export async function roleExists(query: CatalogQuery, role: string): Promise<boolean> {
  const { rows } = await query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
  return rows.length > 0;
}

/**
 * Creates the service's schema owned by its role, or checks that the existing one is: a schema of
 * the same name owned by anyone else is not this service's, and is refused rather than used.
 */
export async function ensureSchemaOwnedBy(
  query: CatalogQuery,
  schema: string,
  role: string,
): Promise<void> {
  const { rows } = await query<{ owner: string }>(
    "SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1",
    [schema],
  );
  const owner = rows[0]?.owner;
  if (owner === undefined) {
    await query(`CREATE SCHEMA ${quoteIdent(schema)} AUTHORIZATION ${quoteIdent(role)}`);
  } else if (owner !== role) {
    throw new Error(`storage: schema "${schema}" exists but is owned by "${owner}", not "${role}"`);
  }
}
