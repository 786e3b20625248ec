/** Prefix of every service role, so Plexus's roles are easy to find (and never collide with a human's). */
const rolePrefix = "plexus_svc_";

/**
 * Service names become schema and role names, so they are restricted to what needs no quoting
 * surprises: lowercase letters, digits and `_` (the same rule as `defineService`), at most 52
 * characters so that `plexus_svc_<name>` fits Postgres's 63-byte identifier limit.
 */
const serviceNamePattern = /^[a-z][a-z0-9_]{0,51}$/;

/** Names Postgres reserves or that every role can already use: a service must not claim them. */
const reservedSchemas = new Set(["public", "information_schema"]);

/** Throws a TypeError when `name` cannot be a service's schema. */
export function assertServiceName(name: string): void {
  if (!serviceNamePattern.test(name) || reservedSchemas.has(name) || name.startsWith("pg_")) {
    throw new TypeError(
      `invalid service name "${name}" for storage: use 1-52 lowercase letters, digits and _ ` +
        `(starting with a letter), not "public", "information_schema" or "pg_*"`,
    );
  }
}

/** The role that owns a service's schema. */
export function roleOf(service: string): string {
  return rolePrefix + service;
}

/** Quotes an identifier for SQL text (schema and role names cannot be bound as parameters). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for SQL text, for the few statements that take no parameters. */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
