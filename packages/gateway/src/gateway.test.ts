import { connect } from "node:net";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  Code,
  PlexusError,
  createHealthRegistry,
  createLogger,
  currentContext,
  type CallContext,
} from "@plexus/core";
import { createFakeClock } from "@plexus/testing";
import { createGateway, type Gateway } from "./gateway.ts";
import {
  AUDIENCE,
  ISSUER,
  createTestIssuer,
  hs256Token,
  noneToken,
  type TestIssuer,
} from "./jwt-test-keys.ts";
import { createJwtVerifier } from "./jwt-verifier.ts";
import { paginate, parsePagination } from "./pagination.ts";
import { parseWith } from "./parse-with.ts";
import { createMemoryRateLimitStore } from "./rate-limit-store.ts";
import { createTestClient, rawRequest, type TestResponse } from "./test-client.ts";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Asserts API.md's error shape and returns its `error` object. */
function expectError(res: TestResponse, status: number, code: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
  expect(res.json).toEqual({
    error: {
      code,
      message: expect.any(String),
      ...(res.json?.error?.details ? { details: expect.any(Array) } : {}),
      requestId: res.headers["x-request-id"],
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      path: expect.any(String),
    },
  });
  return res.json.error as { code: string; message: string; details?: unknown[]; path: string };
}

const Order = z
  .object({
    items: z
      .array(
        z.object({ productId: z.string().min(1), quantity: z.int().min(1).max(1000) }).strict(),
      )
      .min(1),
    paymentMethod: z.object({ token: z.string() }).strict(),
  })
  .strict();

const products = Array.from({ length: 45 }, (_, i) => ({
  id: `p${i + 1}`,
  name: `Product ${i + 1}`,
}));

interface Seen {
  headers?: Record<string, unknown>;
  rawHeaders?: string[];
  context?: CallContext;
  principal?: unknown;
}

describe("createGateway over real HTTP", () => {
  let gateway: Gateway;
  let issuer: TestIssuer;
  let client: ReturnType<typeof createTestClient>;
  let port: number;
  const logLines: Record<string, unknown>[] = [];
  const seen: Seen = {};
  let slowStarted: (() => void) | undefined;
  let disconnected: Promise<unknown> | undefined;
  const clock = createFakeClock(Date.now());

  beforeAll(async () => {
    issuer = await createTestIssuer();
    const logger = createLogger({
      name: "gateway-test",
      level: "debug",
      destination: new Writable({
        write(chunk: Buffer, _enc, done) {
          logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    });
    gateway = createGateway({
      logger,
      clock,
      authenticator: createJwtVerifier({
        getJwks: async () => issuer.jwks(),
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
      rateLimit: { defaultLimit: 10_000, store: createMemoryRateLimitStore({ clock }) },
      readiness: { catalog: async () => true },
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/products",
      handler: (req) => {
        const { page, limit } = parsePagination(req.query);
        const slice = products.slice((page - 1) * limit, page * limit);
        return { body: paginate(slice, { page, limit, total: products.length }, req.url) };
      },
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/products/:id",
      handler: (req) => {
        const id = req.params["id"]!;
        if (id === "boom") {
          throw new Error(
            'duplicate key value violates "products_pkey" at /srv/app/db.ts:12 (db-1.internal)',
          );
        }
        if (id === "unavailable") throw new PlexusError(Code.Unavailable, "catalog unavailable");
        if (id === "busy") {
          throw new PlexusError(Code.Unavailable, "catalog busy", {
            metadata: { retryAfterMs: "7000" },
          });
        }
        const product = products.find((p) => p.id === id);
        if (!product) {
          throw new PlexusError(Code.NotFound, "product not found", {
            reason: "PRODUCT_NOT_FOUND",
          });
        }
        return { body: { data: product } };
      },
    });
    gateway.route({
      method: "POST",
      path: "/api/v1/orders",
      auth: true,
      handler: (req) => {
        const order = parseWith(Order, req.body);
        return {
          status: 202,
          headers: { location: "/api/v1/orders/o1" },
          body: { data: { id: "o1", status: "PENDING", lines: order.items.length } },
        };
      },
    });
    gateway.route({
      method: "POST",
      path: "/api/v1/json",
      body: "json",
      handler: (req) => ({ body: { received: req.body } }),
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/echo",
      handler: (req) => {
        seen.headers = { ...req.headers };
        seen.rawHeaders = [...req.raw.rawHeaders];
        seen.context = currentContext();
        seen.principal = req.principal;
        return { body: { ok: true } };
      },
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/users/:id",
      auth: true,
      deprecation: {
        deprecatedAt: new Date("2030-01-01T00:00:00Z"),
        sunset: new Date("2031-01-01T00:00:00Z"),
        successor: (p) => `/api/v2/users/${encodeURIComponent(p["id"] ?? "")}`,
      },
      handler: (req) => ({ body: { data: { id: req.params["id"] } } }),
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/slow",
      timeoutMs: 5_000,
      handler: (req) =>
        new Promise((_, reject) => {
          req.signal.addEventListener("abort", () => reject(req.signal.reason as Error));
          slowStarted?.();
        }),
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/hang",
      handler: (req) => {
        disconnected = new Promise((resolve) =>
          req.signal.addEventListener("abort", () => resolve(req.signal.reason)),
        );
        slowStarted?.();
        return new Promise(() => undefined);
      },
    });
    const listening = await gateway.listen({ host: "127.0.0.1" });
    port = listening.port;
    client = createTestClient(listening.url);
  });

  afterAll(async () => {
    await client.close();
    await gateway.close();
  });

  const call = (method: string, path: string, init?: Parameters<typeof client.call>[2]) =>
    client.call(method, path, init);

  describe("conventions on every response", () => {
    it("sets X-Request-ID (new each time), X-Correlation-ID and traceparent", async () => {
      const a = await call("GET", "/api/v1/products/p1");
      const b = await call("GET", "/api/v1/products/p1");
      expect(a.status).toBe(200);
      expect(a.headers["x-request-id"]).toMatch(uuid);
      expect(a.headers["x-request-id"]).not.toBe(b.headers["x-request-id"]);
      expect(a.headers["x-correlation-id"]).toMatch(uuid);
      expect(a.headers["traceparent"]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(a.headers["content-type"]).toBe("application/json; charset=utf-8");
      expect(a.json).toEqual({ data: { id: "p1", name: "Product 1" } });
    });

    it("takes a well-formed correlation id and replaces a malformed one", async () => {
      const ok = await call("GET", "/api/v1/echo", {
        headers: { "x-correlation-id": "abc-123.x:y_z" },
      });
      expect(ok.headers["x-correlation-id"]).toBe("abc-123.x:y_z");
      expect(seen.context?.correlationId).toBe("abc-123.x:y_z");
      for (const bad of ["has space", "x".repeat(129), "a;b", "ünïcode"]) {
        const res = await call("GET", "/api/v1/echo", {
          headers: { "x-correlation-id": encodeURIComponent(bad) === bad ? bad : bad },
        }).catch(() => undefined);
        if (res === undefined) continue; // the client refused to send it at all
        expect(res.headers["x-correlation-id"]).toMatch(uuid);
        expect(seen.context?.correlationId).toBe(res.headers["x-correlation-id"]);
      }
    });

    it("continues an incoming W3C traceparent with a new span", async () => {
      const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
      const res = await call("GET", "/api/v1/echo", { headers: { traceparent: parent } });
      const [version, traceId, spanId, flags] = res.headers["traceparent"]!.split("-");
      expect([version, traceId, flags]).toEqual(["00", "0af7651916cd43dd8448eb211c80319c", "01"]);
      expect(spanId).not.toBe("b7ad6b7169203331");
      expect(seen.context?.trace).toEqual({ traceId, spanId, flags });

      const invalid = await call("GET", "/api/v1/echo", {
        headers: { traceparent: "00-00000000000000000000000000000000-b7ad6b7169203331-01" },
      });
      expect(invalid.headers["traceparent"]).not.toContain("00000000000000000000000000000000");
    });

    it("runs handlers in a CallContext with deadline, signal and caller", async () => {
      const before = clock.now();
      await call("GET", "/api/v1/echo");
      const ctx = seen.context!;
      expect(ctx.requestId).toMatch(uuid);
      expect(ctx.deadline).toBeGreaterThanOrEqual(before + 10_000);
      expect(ctx.signal).toBeInstanceOf(AbortSignal);
      expect(ctx.caller).toBe("gateway");
    });

    it("strips internal and forwarded identity headers sent by clients", async () => {
      const sneaky = {
        "x-plexus-caller": "orders",
        "X-Plexus-Principal": "admin",
        "x-internal-debug": "1",
        "x-forwarded-user": "admin",
        "x-forwarded-email": "admin@shop.test",
        "x-user-id": "u-admin",
        "x-user": "admin",
        "x-auth-user": "admin",
        "x-authenticated-user": "admin",
        "x-remote-user": "admin",
        "remote-user": "admin",
        "x-principal": "admin",
        "x-ms-client-principal-name": "admin",
        "x-goog-authenticated-user-email": "admin@shop.test",
      };
      await call("GET", "/api/v1/echo", { headers: { ...sneaky, "x-kept": "yes" } });
      for (const name of Object.keys(sneaky)) {
        expect(seen.headers, name).not.toHaveProperty(name.toLowerCase());
      }
      const rawNames = seen.rawHeaders!.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      expect(rawNames).toContain("x-kept");
      expect(rawNames.filter((n) => n in sneaky || n.startsWith("x-plexus"))).toEqual([]);
      expect(seen.headers!["x-kept"]).toBe("yes");
    });

    it("puts RateLimit headers on every /api/ response, success and error, not on health", async () => {
      for (const [method, path, status] of [
        ["GET", "/api/v1/products/p1", 200],
        ["GET", "/api/v1/products/missing", 404],
        ["GET", "/api/v1/no-such-route", 404],
        ["DELETE", "/api/v1/products/p1", 405],
        ["POST", "/api/v1/orders", 401],
      ] as const) {
        const res = await call(method, path);
        expect(res.status, path).toBe(status);
        expect(res.headers["ratelimit-limit"], path).toBe("10000");
        expect(Number(res.headers["ratelimit-remaining"]), path).toBeGreaterThan(0);
        expect(res.headers["ratelimit-reset"], path).toMatch(/^\d+$/);
      }
      const health = await call("GET", "/health/live");
      expect(health.headers["ratelimit-limit"]).toBeUndefined();
      expect(health.headers["x-request-id"]).toMatch(uuid);
    });
  });

  describe("errors", () => {
    it("404 NOT_FOUND for an unknown route, with the path", async () => {
      const error = expectError(await call("GET", "/api/v1/nothing?x=1"), 404, "NOT_FOUND");
      expect(error.path).toBe("/api/v1/nothing");
    });

    it("414 URI_TOO_LONG for a request target over the limit", async () => {
      expectError(
        await call("GET", `/api/v1/products?q=${"a".repeat(9_000)}`),
        414,
        "URI_TOO_LONG",
      );
    });

    it("404 with a handler's reason", async () => {
      expectError(await call("GET", "/api/v1/products/zzz"), 404, "PRODUCT_NOT_FOUND");
    });

    it("405 METHOD_NOT_ALLOWED with Allow; OPTIONS answers 204 with Allow", async () => {
      const res = await call("PUT", "/api/v1/products/p1");
      expectError(res, 405, "METHOD_NOT_ALLOWED");
      expect(res.headers["allow"]).toBe("GET, HEAD, OPTIONS");
      const options = await call("OPTIONS", "/api/v1/orders");
      expect(options.status).toBe(204);
      expect(options.headers["allow"]).toBe("OPTIONS, POST");
    });

    it("HEAD reaches GET routes without a body", async () => {
      const res = await call("HEAD", "/api/v1/products/p1");
      expect(res.status).toBe(200);
      expect(res.text).toBe("");
      expect(Number(res.headers["content-length"])).toBeGreaterThan(0);
    });

    it("400 BAD_REQUEST for malformed, empty, non-UTF-8 and non-object JSON", async () => {
      const json = { "content-type": "application/json" };
      for (const body of ["{", '{"a":1}x', "", "   ", "[1,2]", '"text"', "null", "42"]) {
        const res = await call("POST", "/api/v1/orders", {
          headers: { ...json, authorization: `Bearer ${await issuer.sign()}` },
          body,
        });
        expectError(res, 400, "BAD_REQUEST");
      }
      const latin1 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]);
      expectError(
        await call("POST", "/api/v1/json", { headers: json, body: latin1 }),
        400,
        "BAD_REQUEST",
      );
      const noBody = await call("POST", "/api/v1/json");
      expectError(noBody, 400, "BAD_REQUEST");
      // Deep nesting is refused before it can overflow a recursive walker downstream.
      const deep = "[".repeat(65) + "]".repeat(65);
      expectError(
        await call("POST", "/api/v1/json", { headers: json, body: deep }),
        400,
        "BAD_REQUEST",
      );
      const fine = { headers: json, body: "[".repeat(64) + "]".repeat(64) };
      expect((await call("POST", "/api/v1/json", fine)).status).toBe(200);
      const bracketsInString = JSON.stringify({ s: "[".repeat(500), t: '\\"[[[' });
      expect(
        (await call("POST", "/api/v1/json", { headers: json, body: bracketsInString })).status,
      ).toBe(200);
      // A route reading any JSON value accepts non-objects.
      const any = await call("POST", "/api/v1/json", { headers: json, body: "[1,2]" });
      expect(any.json).toEqual({ received: [1, 2] });
    });

    it("415 UNSUPPORTED_MEDIA_TYPE for anything but application/json (charset utf-8 allowed)", async () => {
      for (const type of [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
        "application/json; charset=iso-8859-1",
        "multipart/form-data; boundary=x",
      ]) {
        expectError(
          await call("POST", "/api/v1/json", { headers: { "content-type": type }, body: "{}" }),
          415,
          "UNSUPPORTED_MEDIA_TYPE",
        );
      }
      expectError(
        await call("POST", "/api/v1/json", { body: "{}" }),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      );
      expectError(
        await call("POST", "/api/v1/json", {
          headers: { "content-type": "application/json", "content-encoding": "gzip" },
          body: "{}",
        }),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      );
      for (const type of [
        "Application/JSON; Charset=UTF-8",
        'application/json;charset="utf-8"',
        "application/json; foo=bar",
      ]) {
        const res = await call("POST", "/api/v1/json", {
          headers: { "content-type": type },
          body: '{"a":1}',
        });
        expect(res.status, type).toBe(200);
      }
    });

    it("413 PAYLOAD_TOO_LARGE over 1 MiB, by Content-Length and while streaming", async () => {
      const json = { "content-type": "application/json" };
      const big = JSON.stringify({ a: "x".repeat(1024 * 1024) });
      const res = await call("POST", "/api/v1/json", { headers: json, body: big });
      expectError(res, 413, "PAYLOAD_TOO_LARGE");
      expect(res.headers["connection"]).toBe("close");
      async function* chunks() {
        for (let i = 0; i < 40; i++) yield Buffer.alloc(64 * 1024, 0x20);
      }
      expectError(
        await call("POST", "/api/v1/json", { headers: json, body: chunks() }),
        413,
        "PAYLOAD_TOO_LARGE",
      );
      // Exactly at the limit is fine.
      const atLimit = JSON.stringify({ a: "x".repeat(1024 * 1024 - 8) });
      expect(Buffer.byteLength(atLimit)).toBe(1024 * 1024);
      expect((await call("POST", "/api/v1/json", { headers: json, body: atLimit })).status).toBe(
        200,
      );
      // A body-less route refuses an oversized body too, without reading it.
      expectError(
        await call("GET", "/api/v1/products/p1", { headers: json, body: big }),
        413,
        "PAYLOAD_TOO_LARGE",
      );
    });

    it("422 VALIDATION_ERROR with field details", async () => {
      const headers = {
        "content-type": "application/json",
        authorization: `Bearer ${await issuer.sign()}`,
      };
      const res = await call("POST", "/api/v1/orders", {
        headers,
        body: JSON.stringify({
          items: [{ productId: "p1", quantity: 0, gift: true }],
          paymentMethod: { token: "t" },
          extra: 1,
        }),
      });
      const error = expectError(res, 422, "VALIDATION_ERROR");
      expect(error.details).toEqual([
        { field: "items[0].quantity", message: expect.any(String) },
        { field: "items[0].gift", message: "unknown field" },
        { field: "extra", message: "unknown field" },
      ]);
      const ok = await call("POST", "/api/v1/orders", {
        headers,
        body: JSON.stringify({
          items: [{ productId: "p1", quantity: 2 }],
          paymentMethod: { token: "tok_visa" },
        }),
      });
      expect(ok.status).toBe(202);
      expect(ok.headers["location"]).toBe("/api/v1/orders/o1");
    });

    it("500 never leaks internals, and the cause is logged", async () => {
      const res = await call("GET", "/api/v1/products/boom");
      const error = expectError(res, 500, "INTERNAL");
      expect(res.text).not.toMatch(/products_pkey|\/srv|db-1|stack|at /);
      expect(error.message).toBe("internal error");
      const line = logLines.find(
        (l) => l["requestId"] === res.headers["x-request-id"] && l["level"] === 50,
      );
      expect(JSON.stringify(line)).toContain("products_pkey");
    });

    it("503 SERVICE_UNAVAILABLE carries Retry-After (default, or the error's hint)", async () => {
      const res = await call("GET", "/api/v1/products/unavailable");
      expectError(res, 503, "SERVICE_UNAVAILABLE");
      expect(res.headers["retry-after"]).toBe("1");
      expect((await call("GET", "/api/v1/products/busy")).headers["retry-after"]).toBe("7");
    });

    it("504 GATEWAY_TIMEOUT when the route deadline passes; the handler's signal aborts", async () => {
      const started = new Promise<void>((resolve) => (slowStarted = resolve));
      const pending = call("GET", "/api/v1/slow");
      await started;
      clock.advance(5_000);
      expectError(await pending, 504, "GATEWAY_TIMEOUT");
    });

    it("408 REQUEST_TIMEOUT when the body is still arriving at the deadline; the connection closes", async () => {
      const socket = connect(port, "127.0.0.1");
      const chunks: Buffer[] = [];
      socket.on("data", (c: Buffer) => chunks.push(c));
      const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
      const timers = clock.pendingTimers();
      socket.write(
        'POST /api/v1/json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
      );
      await vi.waitFor(() => expect(clock.pendingTimers()).toBeGreaterThan(timers));
      clock.advance(10_000);
      await closed;
      const answer = Buffer.concat(chunks).toString("latin1");
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toMatch(/\r\nconnection: close\r\n/i);
      expect(answer).toContain('"code":"REQUEST_TIMEOUT"');
    });

    it("aborts the handler's signal when the client disconnects", async () => {
      const started = new Promise<void>((resolve) => (slowStarted = resolve));
      const controller = new AbortController();
      const pending = call("GET", "/api/v1/hang", { signal: controller.signal }).catch(
        (e: unknown) => e,
      );
      await started;
      controller.abort();
      await pending;
      const reason = await disconnected;
      expect(reason).toBeInstanceOf(PlexusError);
      expect((reason as PlexusError).code).toBe(Code.Canceled);
    });

    it("400 for bad percent-encoding and too many query parameters", async () => {
      for (const path of [
        "/api/v1/products?limit=%zz",
        "/api/v1/products?%E0%A4%A=1",
        "/api/v1/products/%zz",
        `/api/v1/products?${Array.from({ length: 101 }, (_, i) => `a${i}=1`).join("&")}`,
      ]) {
        const res = await call("GET", path);
        expectError(res, 400, "BAD_REQUEST");
        expect(res.headers["x-request-id"]).toMatch(uuid);
      }
    });

    it("422 for bad pagination, repeated parameters included", async () => {
      for (const q of ["limit=0", "limit=-1", "limit=abc", "page=1.5", "limit=1&limit=2"]) {
        const error = expectError(
          await call("GET", `/api/v1/products?${q}`),
          422,
          "VALIDATION_ERROR",
        );
        expect(error.details, q).toEqual([
          { field: q.startsWith("page") ? "page" : "limit", message: expect.any(String) },
        ]);
      }
    });

    it("answers protocol errors (huge headers, garbage) in the error shape", async () => {
      const huge = await rawRequest(
        port,
        `GET /api/v1/products HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
      );
      expect(huge).toMatch(/^HTTP\/1\.1 431 /);
      expect(huge).toContain('"code":"HEADERS_TOO_LARGE"');
      const garbage = await rawRequest(port, "HELLO\r\n\r\n");
      expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
      expect(garbage).toContain('"code":"BAD_REQUEST"');
      const star = await rawRequest(
        port,
        "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      expect(star).toMatch(/^HTTP\/1\.1 400 /);
      expect(star).toContain('"code":"BAD_REQUEST"');
      const absolute = await rawRequest(
        port,
        "GET http://shop.test/api/v1/products/p2 HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n",
      );
      expect(absolute).toMatch(/^HTTP\/1\.1 200 /);
    });
  });

  describe("auth", () => {
    it("401 UNAUTHENTICATED with WWW-Authenticate and one message for every failure", async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = { sub: "u1", iss: ISSUER, aud: AUDIENCE, exp: now + 600 };
      const tokens = [
        undefined,
        "Bearer ",
        "Basic Zm9vOmJhcg==",
        `Bearer ${await issuer.sign({}, { nowSec: now - 3600, expiresInSec: 60 })}`,
        `Bearer ${await issuer.sign({ nbf: now + 600 })}`,
        `Bearer ${await issuer.sign({ iss: "https://evil.test" })}`,
        `Bearer ${await issuer.sign({ aud: "other" })}`,
        `Bearer ${hs256Token(claims, Buffer.from(issuer.publicJwk.x!, "base64url"), issuer.publicJwk.kid)}`,
        `Bearer ${noneToken(claims)}`,
      ];
      const messages = new Set<string>();
      for (const authorization of tokens) {
        const res = await call("GET", "/api/v1/users/u1", {
          headers: authorization ? { authorization } : {},
        });
        const error = expectError(res, 401, "UNAUTHENTICATED");
        expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
        messages.add(error.message);
      }
      expect(messages.size).toBe(1);
    });

    it("passes the principal to handlers and the context; optional routes stay anonymous on bad tokens", async () => {
      const token = await issuer.sign({ sub: "u7", tier: "pro" });
      const res = await call("GET", "/api/v1/users/u7", {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      await call("GET", "/api/v1/echo", { headers: { authorization: `Bearer ${token}` } });
      expect(seen.principal).toEqual({ subject: "u7", tier: "pro" });
      expect(seen.context?.principal).toEqual({ subject: "u7", tier: "pro" });
      const anon = await call("GET", "/api/v1/echo", { headers: { authorization: "Bearer nope" } });
      expect(anon.status).toBe(200);
      expect(seen.principal).toBeUndefined();
    });
  });

  describe("versioning", () => {
    it("adds Deprecation, Sunset and successor Link to every response of a deprecated route", async () => {
      const token = await issuer.sign({ sub: "u1" });
      const ok = await call("GET", "/api/v1/users/u%201", {
        headers: { authorization: `Bearer ${token}` },
      });
      const unauthorized = await call("GET", "/api/v1/users/u1");
      const wrongMethod = await call("DELETE", "/api/v1/users/u1");
      for (const res of [ok, unauthorized, wrongMethod]) {
        expect(res.headers["deprecation"]).toBe(`@${Date.UTC(2030, 0, 1) / 1000}`);
        expect(res.headers["sunset"]).toBe("Wed, 01 Jan 2031 00:00:00 GMT");
      }
      expect(ok.headers["link"]).toBe('</api/v2/users/u%201>; rel="successor-version"');
      expect(unauthorized.headers["link"]).toBe('</api/v2/users/u1>; rel="successor-version"');
      expect((await call("GET", "/api/v1/products/p1")).headers["deprecation"]).toBeUndefined();
    });
  });

  describe("pagination", () => {
    it("serves API.md's envelope with links", async () => {
      const res = await call("GET", "/api/v1/products?page=2&limit=20&category=x");
      expect(res.json.pagination).toEqual({ page: 2, limit: 20, total: 45, totalPages: 3 });
      expect(res.json.data).toHaveLength(20);
      expect(res.json._links).toEqual({
        self: "/api/v1/products?page=2&limit=20&category=x",
        next: "/api/v1/products?page=3&limit=20&category=x",
        prev: "/api/v1/products?page=1&limit=20&category=x",
      });
      const clamped = await call("GET", "/api/v1/products?limit=1000");
      expect(clamped.json.pagination).toEqual({ page: 1, limit: 100, total: 45, totalPages: 1 });
      expect(clamped.json._links.next).toBeNull();
      expect(clamped.json._links.prev).toBeNull();
    });
  });

  describe("health and metrics", () => {
    it("live and ready answer ok", async () => {
      const live = await call("GET", "/health/live");
      expect(live.status).toBe(200);
      expect(live.json).toEqual({ status: "ok" });
      const ready = await call("GET", "/health/ready");
      expect(ready.status).toBe(200);
      expect(ready.json).toEqual({ status: "ok", checks: { catalog: "ok" } });
    });

    it("records requests by route template in /metrics", async () => {
      await call("GET", "/api/v1/products/p3");
      await call("GET", "/api/v1/definitely/not/here");
      const res = await call("GET", "/metrics");
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^text\/plain/);
      expect(res.text).toMatch(
        /plexus_http_requests_total\{method="GET",route="\/api\/v1\/products\/:id",status="200"\} \d+/,
      );
      expect(res.text).toMatch(/route="unmatched",status="404"/);
      expect(res.text).not.toContain("/api/v1/products/p3");
      expect(res.text).not.toContain("/definitely");
    });
  });
});

describe("rate limiting over HTTP (fake clock)", () => {
  it("answers 429 RATE_LIMITED with Retry-After past the limit, per principal else per IP", async () => {
    const clock = createFakeClock(Date.UTC(2030, 0, 1));
    const issuer = await createTestIssuer();
    const gateway = createGateway({
      clock,
      authenticator: createJwtVerifier({
        getJwks: async () => issuer.jwks(),
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
      rateLimit: {
        defaultLimit: 3,
        tiers: { pro: 5 },
        store: createMemoryRateLimitStore({ clock }),
      },
      logger: createLogger({ name: "t", level: "silent" }),
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/ping",
      handler: () => ({ body: { pong: true } }),
    });
    const { url } = await gateway.listen({ host: "127.0.0.1" });
    const client = createTestClient(url);
    try {
      const remaining: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await client.call("GET", "/api/v1/ping");
        expect(res.status).toBe(200);
        remaining.push(res.headers["ratelimit-remaining"]!);
      }
      expect(remaining).toEqual(["2", "1", "0"]);
      const limited = await client.call("GET", "/api/v1/ping");
      expectError(limited, 429, "RATE_LIMITED");
      expect(limited.headers["retry-after"]).toBe("20");
      expect(limited.headers["ratelimit-limit"]).toBe("3");
      expect(limited.headers["ratelimit-remaining"]).toBe("0");
      expect(limited.headers["ratelimit-reset"]).toBe("60");
      // Unknown routes under /api/ count too.
      expectError(await client.call("GET", "/api/v1/nope"), 429, "RATE_LIMITED");

      // A user is counted on their own quota, with their tier's limit.
      const pro = `Bearer ${await issuer.sign({ sub: "u-pro", tier: "pro" }, { nowSec: clock.now() / 1000 })}`;
      const res = await client.call("GET", "/api/v1/ping", { headers: { authorization: pro } });
      expect(res.status).toBe(200);
      expect(res.headers["ratelimit-limit"]).toBe("5");
      expect(res.headers["ratelimit-remaining"]).toBe("4");

      clock.advance(20_000);
      expect((await client.call("GET", "/api/v1/ping")).status).toBe(200);
      expectError(await client.call("GET", "/api/v1/ping"), 429, "RATE_LIMITED");
    } finally {
      await client.close();
      await gateway.close();
    }
  });
});

describe("a route's named rate-limit policy over HTTP (fake clock)", () => {
  it("counts the route against both limits; headers and 429 follow the binding one", async () => {
    const clock = createFakeClock(Date.UTC(2030, 0, 1));
    const gateway = createGateway({
      clock,
      rateLimit: {
        defaultLimit: 4,
        policies: { credentials: { limit: 10, burst: 2 } },
        store: createMemoryRateLimitStore({ clock }),
      },
      logger: createLogger({ name: "t", level: "silent" }),
    });
    gateway.route({
      method: "POST",
      path: "/api/v1/token",
      rateLimitPolicy: "credentials",
      handler: () => ({ body: { token: "t" } }),
    });
    gateway.route({ method: "GET", path: "/api/v1/ping", handler: () => ({ body: {} }) });
    const { url } = await gateway.listen({ host: "127.0.0.1" });
    const client = createTestClient(url);
    const post = () =>
      client.call("POST", "/api/v1/token", {
        headers: { "content-type": "application/json" },
        body: "{}",
      });
    try {
      const first = await post();
      expect(first.status).toBe(200);
      // General: 3 of 4 left; credentials: 1 of a burst of 2 left — the latter binds.
      expect(first.headers["ratelimit-limit"]).toBe("10");
      expect(first.headers["ratelimit-remaining"]).toBe("1");
      expect(first.headers["ratelimit-reset"]).toBe("6");
      expect(first.headers["ratelimit-policy"]).toBe("4;w=60, 10;w=60;burst=2");
      expect((await post()).status).toBe(200);
      const limited = await post();
      expectError(limited, 429, "RATE_LIMITED");
      expect(limited.headers["retry-after"]).toBe("6");
      expect(limited.headers["ratelimit-limit"]).toBe("10");
      expect(limited.headers["ratelimit-remaining"]).toBe("0");

      // Other routes are held to the general limit only, which the refused request also used.
      const ping = await client.call("GET", "/api/v1/ping");
      expect(ping.status).toBe(200);
      expect(ping.headers["ratelimit-limit"]).toBe("4");
      expect(ping.headers["ratelimit-remaining"]).toBe("0");
      expect(ping.headers["ratelimit-policy"]).toBe("4;w=60");

      // Six seconds later the credential quota has a request again, but the general one is
      // spent: the general limit refuses, and the headers say so.
      clock.advance(6_000);
      const general = await post();
      expectError(general, 429, "RATE_LIMITED");
      expect(general.headers["ratelimit-limit"]).toBe("4");
      expect(general.headers["retry-after"]).toBe("9");
    } finally {
      await client.close();
      await gateway.close();
    }
  });

  it("does not spend the named quota on a request the general limit refuses", async () => {
    const clock = createFakeClock(Date.UTC(2030, 0, 1));
    const gateway = createGateway({
      clock,
      rateLimit: {
        defaultLimit: 1,
        periodMs: 1_000,
        policies: { credentials: { limit: 2, periodMs: 60_000 } },
        store: createMemoryRateLimitStore({ clock }),
      },
      logger: createLogger({ name: "t", level: "silent" }),
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/token",
      rateLimitPolicy: "credentials",
      handler: () => ({ body: {} }),
    });
    const { url } = await gateway.listen({ host: "127.0.0.1" });
    const client = createTestClient(url);
    try {
      expect((await client.call("GET", "/api/v1/token")).status).toBe(200);
      const refused = await client.call("GET", "/api/v1/token");
      expectError(refused, 429, "RATE_LIMITED");
      expect(refused.headers["ratelimit-policy"]).toBe("1;w=1");
      clock.advance(1_000);
      // Had the refused request counted, the credential quota would be spent for 30 s.
      const second = await client.call("GET", "/api/v1/token");
      expect(second.status).toBe(200);
      expect(second.headers["ratelimit-policy"]).toBe("1;w=1, 2;w=60");
    } finally {
      await client.close();
      await gateway.close();
    }
  });

  it("refuses a route naming a policy the limiter lacks, or naming one with rateLimit off", () => {
    const gateway = createGateway({ rateLimit: { policies: { credentials: { limit: 10 } } } });
    const handler = () => ({});
    expect(() =>
      gateway.route({ method: "POST", path: "/api/x", rateLimitPolicy: "credential", handler }),
    ).toThrow(/no rate limit policy named credential/);
    expect(() =>
      gateway.route({
        method: "POST",
        path: "/api/y",
        rateLimit: false,
        rateLimitPolicy: "credentials",
        handler,
      }),
    ).toThrow(/rateLimitPolicy needs rateLimit/);
  });
});

describe("readiness", () => {
  it("answers 503 degraded with Retry-After when a check fails or hangs", async () => {
    const gateway = createGateway({
      readiness: {
        catalog: async () => true,
        orders: async () => {
          throw new Error("connect ECONNREFUSED");
        },
        payments: (signal) =>
          new Promise((_, reject) =>
            signal.addEventListener("abort", () => reject(new Error("timeout"))),
          ),
        users: async () => false,
      },
      readinessTimeoutMs: 50,
      logger: createLogger({ name: "t", level: "silent" }),
    });
    const { url } = await gateway.listen({ host: "127.0.0.1" });
    const client = createTestClient(url);
    try {
      const res = await client.call("GET", "/health/ready");
      expect(res.status).toBe(503);
      expect(res.headers["retry-after"]).toBe("1");
      expect(res.json).toEqual({
        status: "degraded",
        checks: { catalog: "ok", orders: "unhealthy", payments: "unhealthy", users: "unhealthy" },
      });
      expect((await client.call("GET", "/health/live")).status).toBe(200);
    } finally {
      await client.close();
      await gateway.close();
    }
  });

  it("uses the host's health registry for live and ready, merged with its own checks", async () => {
    const stopping = new AbortController();
    const health = createHealthRegistry({ stopping: stopping.signal });
    let dbUp = true;
    health.addReadiness("db", () => dbUp);
    let loopOk = true;
    health.addLiveness("event-loop", () => loopOk);
    const gateway = createGateway({
      health,
      readiness: { orders: async () => true },
      logger: createLogger({ name: "t", level: "silent" }),
    });
    const { url } = await gateway.listen({ host: "127.0.0.1" });
    const client = createTestClient(url);
    try {
      const ready = await client.call("GET", "/health/ready");
      expect(ready.status).toBe(200);
      expect(ready.json).toEqual({ status: "ok", checks: { db: "ok", orders: "ok" } });
      dbUp = false;
      const degraded = await client.call("GET", "/health/ready");
      expect(degraded.status).toBe(503);
      expect(degraded.json).toEqual({
        status: "degraded",
        checks: { db: "unhealthy", orders: "ok" },
      });
      expect((await client.call("GET", "/health/live")).json).toEqual({ status: "ok" });
      loopOk = false;
      const dead = await client.call("GET", "/health/live");
      expect(dead.status).toBe(503);
      expect(dead.json).toEqual({ status: "unhealthy", checks: { "event-loop": "unhealthy" } });
      stopping.abort();
      expect((await client.call("GET", "/health/ready")).json.checks).toMatchObject({
        shutdown: "unhealthy",
      });
    } finally {
      await client.close();
      await gateway.close();
    }
  });

  it("drains in-flight requests on close", async () => {
    const gateway = createGateway({
      rateLimit: false,
      logger: createLogger({ name: "t", level: "silent" }),
    });
    let release!: () => void;
    let started!: () => void;
    const isStarted = new Promise<void>((r) => (started = r));
    gateway.route({
      method: "GET",
      path: "/api/v1/wait",
      handler: async () => {
        started();
        await new Promise<void>((r) => (release = r));
        return { body: { done: true } };
      },
    });
    const { url } = await gateway.listen({ host: "127.0.0.1" });
    const client = createTestClient(url);
    const pending = client.call("GET", "/api/v1/wait");
    await isStarted;
    const closing = gateway.close();
    release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ done: true });
    await closing;
    await client.close();
  });
});

describe("listen", () => {
  it("reports a wildcard address as a loopback URL a client can use", async () => {
    const gateway = createGateway({ logger: createLogger({ name: "t", level: "silent" }) });
    gateway.route({
      method: "GET",
      path: "/api/v1/ping",
      handler: () => ({ body: { pong: true } }),
    });
    try {
      for (const host of ["0.0.0.0", "::"]) {
        const { url } = await gateway.listen({ host });
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        const client = createTestClient(url);
        expect((await client.call("GET", "/api/v1/ping")).status).toBe(200);
        await client.close();
      }
    } finally {
      await gateway.close();
    }
  });
});
