/**
 * A SQL expression reading a `timestamptz` column as an RFC 3339 UTC string with milliseconds
 * (`2026-01-01T00:00:00.000Z`). Formatting in SQL gives one string on both PGlite and pg,
 * whatever their date parsers, so every service's rows carry the time as the contract shows it.
 *
 * @example
 * const columns = `id, ${sqlRfc3339("created_at")} AS created_at`;
 */
export function sqlRfc3339(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}
