import { validationError, type FieldViolation } from "@plexus/core";

export interface PaginationOptions {
  /** Page size when `limit` is absent. Default 20 (API.md). */
  defaultLimit?: number;
  /** Largest page size; larger values are clamped to it, not refused (API.md). Default 100. */
  maxLimit?: number;
}

export interface PageRequest {
  /** 1-based page number. */
  readonly page: number;
  readonly limit: number;
}

/** A query as the gateway hands it over, or a plain record (repeated names as arrays). */
export type QueryInput =
  URLSearchParams | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface Page<T> {
  data: T[];
  pagination: { page: number; limit: number; total: number; totalPages: number };
  _links: { self: string; next: string | null; prev: string | null };
}

/** Pages beyond this are refused: no real list has them, and it keeps offsets safe integers. */
const MAX_PAGE = 1_000_000_000;

/**
 * Reads `?page&limit` per API.md: both optional positive integers in plain decimal digits
 * (`page` default 1, `limit` default `defaultLimit`); a `limit` above `maxLimit` is clamped;
 * `0`, negatives, non-numbers, decimals, exponents, empty values and repeated parameters are a
 * 422 `VALIDATION_ERROR` naming the field(s).
 *
 * @example
 * const { page, limit } = parsePagination(req.query); // ?page=2&limit=500 → { page: 2, limit: 100 }
 */
export function parsePagination(query: QueryInput, options: PaginationOptions = {}): PageRequest {
  const defaultLimit = options.defaultLimit ?? 20;
  const maxLimit = options.maxLimit ?? 100;
  const violations: FieldViolation[] = [];

  const page = readPositiveInt(query, "page", violations);
  const limit = readPositiveInt(query, "limit", violations);
  if (page !== undefined && page > MAX_PAGE) {
    violations.push({ field: "page", message: `must be at most ${MAX_PAGE}` });
  }
  if (violations.length > 0) throw validationError(violations, "invalid pagination parameters");
  return { page: page ?? 1, limit: Math.min(limit ?? defaultLimit, maxLimit) };
}

function readPositiveInt(
  query: QueryInput,
  name: string,
  violations: FieldViolation[],
): number | undefined {
  const values = valuesOf(query, name);
  if (values.length === 0) return undefined;
  if (values.length > 1) {
    violations.push({ field: name, message: "must be given at most once" });
    return undefined;
  }
  const raw = values[0]!;
  if (!/^[0-9]+$/.test(raw)) {
    violations.push({ field: name, message: "must be a positive integer" });
    return undefined;
  }
  // Digits only, so Number() is exact up to 2^53 and merely large (clamped or refused) above.
  const n = Number(raw);
  if (n < 1) {
    violations.push({ field: name, message: "must be a positive integer" });
    return undefined;
  }
  return n;
}

function valuesOf(query: QueryInput, name: string): readonly string[] {
  if (query instanceof URLSearchParams) return query.getAll(name);
  const v = query[name];
  if (v === undefined) return [];
  return typeof v === "string" ? [v] : v;
}

/**
 * Wraps one page of results in API.md's list envelope. `selfUrl` is the request's URL (path and
 * query, or absolute); the links keep its other query parameters, set `page`/`limit` to the
 * effective values (so a clamped limit shows), and stay relative when `selfUrl` is.
 * `next`/`prev` are `null` at the ends; a page past the end points `prev` at the last page.
 *
 * @example
 * return { body: paginate(rows, { page, limit, total }, req.url) };
 */
export function paginate<T>(
  data: T[],
  page: { page: number; limit: number; total: number },
  selfUrl: string | URL,
): Page<T> {
  const totalPages = page.total === 0 ? 0 : Math.ceil(page.total / page.limit);
  const link = (n: number): string => linkTo(selfUrl, n, page.limit);
  const prevPage = page.page > 1 ? Math.min(page.page - 1, Math.max(totalPages, 1)) : undefined;
  return {
    data,
    pagination: { page: page.page, limit: page.limit, total: page.total, totalPages },
    _links: {
      self: link(page.page),
      next: page.page < totalPages ? link(page.page + 1) : null,
      prev: prevPage === undefined ? null : link(prevPage),
    },
  };
}

const relativeBase = "http://relative.invalid";

function linkTo(selfUrl: string | URL, page: number, limit: number): string {
  const relative = typeof selfUrl === "string" && !/^[a-z][a-z0-9+.-]*:/i.test(selfUrl);
  const url = new URL(selfUrl, relativeBase);
  url.searchParams.set("page", String(page));
  url.searchParams.set("limit", String(limit));
  return relative ? `${url.pathname}${url.search}` : url.href;
}
