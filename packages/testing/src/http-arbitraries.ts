import fc from "fast-check";
import { expect } from "vitest";

/*
 * fast-check arbitraries for hostile HTTP requests, shared by the gateway's unit-level properties
 * and the fuzz of the whole shop process, so both send the same kinds of garbage.
 */

const hex = fc.constantFrom(..."0123456789abcdef".split(""));

/** Path and query characters undici sends verbatim, plus broken and hostile percent-encodings. */
export const pathChar = fc.constantFrom(
  ..."abcxyzABC019-._~!$&'()*+,;=:@".split(""),
  "%",
  "%zz",
  "%2F",
  "%00",
  "%E2%82%AC",
  "%C3%28",
  "%C0%80",
  "%ED%A0%80",
  "%FF",
  "..",
  "/",
);

/**
 * Percent-encodings that must never reach storage as such: NUL (plain and overlong), a UTF-16
 * surrogate, bytes that are not UTF-8, truncated sequences, and a noncharacter.
 */
export const hostileEncoding = fc.constantFrom(
  "%00",
  "a%00b",
  "%00%00",
  "%C0%80",
  "%ED%A0%80",
  "%FF",
  "%C3%28",
  "%E2%82",
  "%EF%BF%BF",
  "%7F%0A%0D",
);

/** Strings a JSON body may carry that a database may refuse: NUL, lone surrogates, huge. */
export const hostileString = fc.oneof(
  fc.constantFrom("\u0000", "a\u0000b", "\uD800", "\u202E", "x".repeat(20_000), "' OR 1=1 --"),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.string({ unit: "grapheme", maxLength: 30 }),
);

/** One path segment: one of `words`, hostile characters, or any unicode string encoded. */
export function pathSegment(words: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...words),
    hostileEncoding,
    fc.string({ unit: pathChar, maxLength: 12 }),
    fc.string({ maxLength: 8 }).map((s) => encodeURIComponent(s)),
    fc.string({ unit: "grapheme", maxLength: 8 }).map((s) => encodeURIComponent(s)),
  );
}

const queryValue = fc.oneof(
  fc.constantFrom("1", "0", "-1", "20", "1000", "abc", "1.5", "", "%zz", "1e3", "%20"),
  hostileEncoding,
  fc.string({ unit: pathChar, maxLength: 10 }),
  fc.string({ maxLength: 10 }).map((s) => encodeURIComponent(s)),
  fc.nat({ max: 10_000 }).map((n) => "9".repeat(n)),
);

/** A query string (with its `?`, or empty) over `keys` and hostile keys and values. */
export function queryString(keys: readonly string[]): fc.Arbitrary<string> {
  const key = fc.oneof(fc.constantFrom(...keys), fc.string({ unit: pathChar, maxLength: 6 }));
  return fc.oneof(
    fc.constant(""),
    fc
      .array(fc.tuple(key, queryValue), { maxLength: 8 })
      .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`),
    fc.nat({ max: 300 }).map((n) => `?${Array.from({ length: n }, () => "limit=1").join("&")}`),
    fc.string({ unit: pathChar, maxLength: 30 }).map((s) => `?${s}`),
  );
}

/** Methods, weighted towards the ones routes use. */
export const httpMethod = fc.constantFrom(
  "GET",
  "GET",
  "POST",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "HEAD",
  "OPTIONS",
  "PROPFIND",
);

/** A header value undici accepts (printable ASCII, quotes, separators). */
export const headerValue = fc.string({
  unit: fc.constantFrom(..."abcXYZ0189 -_.:;=/,\"'()<>@[]{}?+*&%$#!~`|\\^".split("")),
  maxLength: 60,
});

export const contentType = fc.oneof(
  { weight: 4, arbitrary: fc.constant("application/json") },
  fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON;CHARSET=UTF-8",
    "application/json; charset=latin1",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json;;;",
    "",
  ),
  headerValue,
);

/** Request headers: forged identities, broken tokens and trace contexts, odd encodings. */
export const requestHeaders = fc.record(
  {
    "content-type": contentType,
    authorization: fc.oneof(
      fc.constant("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
      headerValue.map((v) => `Bearer ${v}`),
      headerValue,
    ),
    "x-correlation-id": headerValue,
    traceparent: fc.oneof(
      headerValue,
      fc
        .tuple(
          fc.string({ unit: hex, minLength: 2, maxLength: 2 }),
          fc.string({ unit: hex, minLength: 32, maxLength: 32 }),
        )
        .map(([v, t]) => `${v}-${t}-b7ad6b7169203331-01`),
    ),
    "x-plexus-principal": headerValue,
    "x-plexus-principal-id": headerValue,
    "x-forwarded-user": headerValue,
    "idempotency-key": headerValue,
    "content-encoding": fc.constantFrom("gzip", "identity", "br"),
    accept: headerValue,
  },
  { requiredKeys: [] },
);

/**
 * A request body: none, any JSON, `template` with any JSON value slipped in, raw bytes, text,
 * one just over the 1 MiB limit, or deeply nested arrays.
 */
export function requestBody(
  template: (value: unknown) => unknown = (v) => v,
): fc.Arbitrary<string | Buffer | undefined> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: fc.json() },
    {
      weight: 4,
      arbitrary: fc.oneof(fc.jsonValue(), hostileString).map((v) => JSON.stringify(template(v))),
    },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b)) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 1024 * 1024 - 16, max: 2 * 1024 * 1024 })
        .map((n) => Buffer.alloc(n, 0x61)),
    },
    { weight: 1, arbitrary: fc.nat({ max: 50_000 }).map((n) => "[".repeat(n) + "]".repeat(n)) },
  );
}

/** What {@link expectApiResponse} reads of a response. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  readonly json: unknown;
}

/**
 * API.md's rules for every answer: never a 5xx, request and correlation ids, the one error shape
 * on every 4xx, and no internals (stack traces, SQL, file paths, host names) in any error body.
 */
export function expectApiResponse(method: string, res: ApiResponse): void {
  expect(res.status, res.text).toBeGreaterThanOrEqual(200);
  expect(res.status, res.text).toBeLessThan(500);
  expect(res.headers["x-request-id"]).toBeTruthy();
  expect(res.headers["x-correlation-id"]).toBeTruthy();
  if (res.status >= 400 && method !== "HEAD") {
    // Error bodies only: a success may rightly echo what a client stored (a name "SELECT 1").
    expect(res.text).not.toMatch(leak);
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    const error = (res.json as { error?: Record<string, unknown> } | undefined)?.error;
    expect(error, res.text).toBeTypeOf("object");
    expect(error!["code"]).toMatch(/^[A-Z][A-Z_]*$/);
    expect(error!["message"]).toBeTypeOf("string");
    expect(error!["requestId"]).toBe(res.headers["x-request-id"]);
    expect(Number.isNaN(Date.parse(String(error!["timestamp"])))).toBe(false);
    expect(error!["path"]).toBeTypeOf("string");
    // Host names and addresses of the machine, in an error body (a success may link to itself).
    expect(res.text).not.toMatch(/localhost|127\.0\.0\.1|\[::1?\]|0\.0\.0\.0/);
  }
  if (res.status < 400 && res.json !== undefined) {
    expect(res.json).not.toHaveProperty("error");
  }
}

/** Stack frames, Node internals, source paths, SQL and database error wording. */
const leak =
  /\n\s+at |node:internal|\/work\/|\/home\/|\/tmp\/|\.ts:\d|\b(SELECT|INSERT INTO|UPDATE|DELETE FROM)\s|\bSQLSTATE\b|syntax error at|invalid byte sequence|relation "|violates .* constraint/;
