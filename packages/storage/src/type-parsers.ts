import { types, type CustomTypesConfig } from "pg";

/*
 * One SQL dialect means the same rows too: left alone, PGlite and node-postgres parse a few
 * common types differently (a `count(*)` would be a number on one and a string on the other).
 * Both backends are set to these rules:
 * - int8 (counts, bigserial ids): a number when it is a safe integer, else a bigint (PGlite's
 *   own rule; node-postgres returns a string).
 * - date: the 'YYYY-MM-DD' string. A calendar date is not an instant; both drivers would
 *   otherwise make a Date at midnight, in UTC on PGlite and in local time on node-postgres.
 * - interval: Postgres's text (node-postgres would return an object, PGlite a string).
 * numeric stays a string on both (exact), json/jsonb are parsed, timestamptz is a Date.
 */

const INT8 = 20;
const DATE = 1082;
const INTERVAL = 1186;
const INT8_ARRAY = 1016;
const DATE_ARRAY = 1182;
const INTERVAL_ARRAY = 1187;

/** int8 text → number when safe, else bigint. */
export function parseInt8(text: string): number | bigint {
  const n = BigInt(text);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(n)
    : n;
}

function identity(text: string): string {
  return text;
}

/** Overrides for PGlite's `parsers` option (its array parsers reuse these per element). */
export const pgliteParsers: Record<number, (text: string) => unknown> = {
  [DATE]: identity,
  [INTERVAL]: identity,
};

const pgOverrides = new Map<number, (text: string) => unknown>([
  [INT8, parseInt8],
  [DATE, identity],
  [INTERVAL, identity],
  [INT8_ARRAY, (text) => parseArray(text, parseInt8)],
  [DATE_ARRAY, (text) => parseArray(text, identity)],
  [INTERVAL_ARRAY, (text) => parseArray(text, identity)],
]);

const TEXT_ARRAY = 1009;
const parseTextArray = (types.getTypeParser as (oid: number) => (text: string) => unknown[])(
  TEXT_ARRAY,
);

/** Parses an array literal as text[] (nested arrays too), then each non-null element. */
function parseArray(text: string, parseElement: (element: string) => unknown): unknown[] {
  const mapDeep = (items: unknown[]): unknown[] =>
    items.map((item) =>
      Array.isArray(item) ? mapDeep(item) : typeof item === "string" ? parseElement(item) : item,
    );
  return mapDeep(parseTextArray(text));
}

/** node-postgres type parsers, per pool (the global `pg.types` is left untouched). */
export const pgTypeParsers: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (format !== "binary") {
      const override = pgOverrides.get(oid);
      if (override) return override;
    }
    return types.getTypeParser(oid, format) as (text: string) => unknown;
  }) as CustomTypesConfig["getTypeParser"],
};
