import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createLogger } from "@plexus/core";
import { createGateway, type Gateway } from "./gateway.ts";
import { AUDIENCE, ISSUER, createTestIssuer } from "./jwt-test-keys.ts";
import { createJwtVerifier } from "./jwt-verifier.ts";
import { paginate, parsePagination } from "./pagination.ts";
import { parseWith } from "./parse-with.ts";
import { createTestClient, rawRequest, type TestResponse } from "./test-client.ts";

const Thing = z.object({ name: z.string().min(1), tags: z.array(z.string()).max(5) }).strict();

/** Every answer: no 5xx, ids present, and API.md's error shape on every 4xx. */
function checkResponse(method: string, res: TestResponse): void {
  expect(res.status, res.text).toBeGreaterThanOrEqual(200);
  expect(res.status, res.text).toBeLessThan(500);
  expect(res.headers["x-request-id"]).toBeTruthy();
  expect(res.headers["x-correlation-id"]).toBeTruthy();
  if (res.status >= 400 && method !== "HEAD") {
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    const error = res.json?.error as Record<string, unknown>;
    expect(error, res.text).toBeTypeOf("object");
    expect(error["code"]).toMatch(/^[A-Z][A-Z_]*$/);
    expect(error["message"]).toBeTypeOf("string");
    expect(error["requestId"]).toBe(res.headers["x-request-id"]);
    expect(Number.isNaN(Date.parse(String(error["timestamp"])))).toBe(false);
    expect(error["path"]).toBeTypeOf("string");
    expect(res.text).not.toMatch(/\n\s+at |node:internal|\/work\//);
  }
  if (res.status < 400 && res.json !== undefined) {
    expect(res.json).not.toHaveProperty("error");
  }
}

const hex = fc.constantFrom(..."0123456789abcdef".split(""));

// Characters undici sends verbatim in a path or query; others are percent-encoded below.
const pathChar = fc.constantFrom(
  ..."abcxyzABC019-._~!$&'()*+,;=:@".split(""),
  "%",
  "%zz",
  "%2F",
  "%00",
  "%E2%82%AC",
  "%C3%28",
  "%",
  "..",
  "/",
);
const segment = fc.oneof(
  fc.constantFrom("api", "v1", "things", "users", "me", "health", "live", "ready", "metrics", "t1"),
  fc.string({ unit: pathChar, maxLength: 12 }),
  fc.string({ maxLength: 8 }).map((s) => encodeURIComponent(s)),
);
const path = fc.oneof(
  { weight: 3, arbitrary: fc.array(segment, { maxLength: 6 }).map((s) => `/${s.join("/")}`) },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "/api/v1/things",
      "/api/v1/things/t1",
      "/api/v1/things/%E2%82%AC",
      "/api/v1/users/me",
      "/health/live",
      "/health/ready",
      "/metrics",
    ),
  },
  { weight: 1, arbitrary: fc.nat({ max: 20_000 }).map((n) => `/api/v1/things/${"a".repeat(n)}`) },
);
const queryKey = fc.oneof(
  fc.constantFrom("page", "limit", "q", "category", "a"),
  fc.string({ unit: pathChar, maxLength: 6 }),
);
const queryValue = fc.oneof(
  fc.constantFrom("1", "0", "-1", "20", "1000", "abc", "1.5", "", "%zz", "1e3", "%20"),
  fc.string({ unit: pathChar, maxLength: 10 }),
  fc.nat({ max: 10_000 }).map((n) => "9".repeat(n)),
);
const query = fc.oneof(
  fc.constant(""),
  fc
    .array(fc.tuple(queryKey, queryValue), { maxLength: 8 })
    .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`),
  fc.nat({ max: 300 }).map((n) => `?${Array.from({ length: n }, () => "limit=1").join("&")}`),
  fc.string({ unit: pathChar, maxLength: 30 }).map((s) => `?${s}`),
);
const method = fc.constantFrom(
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
const headerValue = fc.string({
  unit: fc.constantFrom(..."abcXYZ0189 -_.:;=/,\"'()<>@[]{}?+*&%$#!~`|\\^".split("")),
  maxLength: 60,
});
const contentType = fc.oneof(
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
const headers = fc.record(
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
    "x-forwarded-user": headerValue,
    "content-encoding": fc.constantFrom("gzip", "identity", "br"),
    accept: headerValue,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.json().map((j) => j) },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify({ name: "n", tags: [], v })) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1024 * 1024 - 16, max: 2 * 1024 * 1024 })
      .map((n) => Buffer.alloc(n, 0x61)),
  },
  { weight: 1, arbitrary: fc.nat({ max: 50_000 }).map((n) => "[".repeat(n) + "]".repeat(n)) },
);

describe("gateway properties (fast-check, real HTTP)", () => {
  let gateway: Gateway;
  let client: ReturnType<typeof createTestClient>;
  let port: number;

  beforeAll(async () => {
    const issuer = await createTestIssuer();
    gateway = createGateway({
      logger: createLogger({ name: "fuzz", level: "silent" }),
      authenticator: createJwtVerifier({
        getJwks: async () => issuer.jwks(),
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
      rateLimit: { defaultLimit: 1_000_000 },
      readiness: { things: async () => true },
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/things",
      handler: (req) => {
        const { page, limit } = parsePagination(req.query);
        return { body: paginate([{ id: "t1" }], { page, limit, total: 1 }, req.url) };
      },
    });
    gateway.route({
      method: "POST",
      path: "/api/v1/things",
      handler: (req) => ({ status: 201, body: { data: parseWith(Thing, req.body) } }),
    });
    gateway.route({
      method: "PUT",
      path: "/api/v1/things/:id",
      body: "json",
      handler: (req) => ({ body: { data: { id: req.params["id"], body: req.body } } }),
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/things/:id",
      handler: (req) => ({ body: { data: { id: req.params["id"], q: [...req.query.keys()] } } }),
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/users/me",
      auth: true,
      handler: (req) => ({ body: { data: req.principal } }),
    });
    const listening = await gateway.listen({ host: "127.0.0.1" });
    port = listening.port;
    client = createTestClient(listening.url);
  });

  afterAll(async () => {
    await client.close();
    await gateway.close();
  });

  it("never answers 5xx, always with ids, and with the error shape on every 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(method, path, query, headers, body, async (m, p, q, h, b) => {
        const withBody = b !== undefined && m !== "GET" && m !== "HEAD";
        let res: TestResponse;
        try {
          res = await client.call(m, p + q, {
            headers: Object.fromEntries(Object.entries(h).filter(([, v]) => v !== "")),
            body: withBody ? b : undefined,
          });
        } catch (error) {
          // The client itself refused to send this request (e.g. a header it deems invalid).
          if ((error as { code?: string }).code === "UND_ERR_INVALID_ARG") return;
          throw error;
        }
        checkResponse(m, res);
      }),
      { numRuns: 300 },
    );
  });

  it("body routes answer only the body statuses of API.md for any content type and body", async () => {
    const bodyRoute = fc.constantFrom(["POST", "/api/v1/things"], ["PUT", "/api/v1/things/t1"]);
    const expected = new Set([200, 201, 400, 413, 414, 415, 422]);
    await fc.assert(
      fc.asyncProperty(bodyRoute, contentType, body, async ([m, p], type, b) => {
        const res = await client.call(m, p, {
          headers: type === "" ? {} : { "content-type": type },
          body: b,
        });
        checkResponse(m, res);
        expect(expected, `${res.status} ${res.text}`).toContain(res.status);
      }),
      { numRuns: 200 },
    );
  });

  it("answers malformed HTTP on the wire with a 4xx in the error shape or just closes", async () => {
    const line = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("latin1")),
      fc
        .tuple(
          fc.constantFrom("GET", "POST", "BREW", "get", "G ET", ""),
          fc.string({ maxLength: 50 }),
          fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9", "", "HTTP/1.1 extra"),
          fc.array(fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 })), {
            maxLength: 4,
          }),
        )
        .map(
          ([m, target, version, hs]) =>
            `${m} ${target} ${version}\r\nHost: x\r\n${hs.map(([k, v]) => `${k}: ${v}\r\n`).join("")}Connection: close\r\n\r\n`,
        ),
    );
    await fc.assert(
      fc.asyncProperty(line, async (data) => {
        const answer = await rawRequest(port, data);
        if (answer === "") return;
        const status = /^HTTP\/1\.[01] (\d{3}) /.exec(answer);
        expect(status, answer.slice(0, 200)).not.toBeNull();
        const code = Number(status![1]);
        expect(code, answer.slice(0, 300)).toBeLessThan(500);
        if (code >= 400 && !/^HEAD /.test(data)) {
          const json = answer.slice(answer.indexOf("\r\n\r\n") + 4);
          const parsed = JSON.parse(json) as { error: Record<string, unknown> };
          expect(Object.keys(parsed.error).sort()).toEqual(
            expect.arrayContaining(["code", "message", "path", "requestId", "timestamp"]),
          );
        }
      }),
      { numRuns: 150 },
    );
  });
});
