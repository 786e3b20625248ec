/** SQLSTATE of `unique_violation`. */
const uniqueViolation = "23505";

/**
 * True when `error` (or one of its causes, e.g. after `PlexusError.from`) is a Postgres unique
 * violation, on PGlite and on Postgres alike: both surface the SQLSTATE as `code`.
 *
 * @example
 * try { await db.query("INSERT INTO users (email) VALUES ($1)", [email]); }
 * catch (error) {
 *   if (isUniqueViolation(error)) throw new PlexusError(Code.AlreadyExists, "email taken");
 *   throw error;
 * }
 */
export function isUniqueViolation(error: unknown): boolean {
  return sqlStateOf(error) === uniqueViolation;
}

/** The SQLSTATE of a database error, looking through up to a few `cause` links. */
export function sqlStateOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
