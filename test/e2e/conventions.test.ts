/**
 * API.md's conventions of every endpoint (headers, errors, rate limits, health, metrics, the
 * admin API off without its token), black-box. PGlite only (vitest.config.ts): the gateway applies them the same whatever the
 * storage; readiness on Postgres is checked by replicas.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDataDir, startShop, type ShopProcess } from "../support/shop-process.ts";
import { request, signUp } from "../support/http.ts";

let shop: ShopProcess;
beforeAll(async () => {
  shop = await startShop({ env: { PLEXUS_RATE_LIMIT: "40" } });
});
afterAll(async () => {
  await shop.stop();
  await removeDataDir(shop.dataDir);
});

describe("every response", () => {
  it("carries X-Request-ID (new per hop) and X-Correlation-ID (kept when well-formed)", async () => {
    const a = await request(shop.url, "/api/v1/products", {
      headers: { "x-correlation-id": "order-flow-42" },
    });
    const b = await request(shop.url, "/api/v1/products");
    expect(a.headers.get("x-correlation-id")).toBe("order-flow-42");
    expect(b.headers.get("x-correlation-id")).toBeTruthy();
    expect(a.headers.get("x-request-id")).toBeTruthy();
    expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
    const bad = await request(shop.url, "/api/v1/products", {
      headers: { "x-correlation-id": "bad id with spaces" },
    });
    expect(bad.headers.get("x-correlation-id")).not.toBe("bad id with spaces");
  });

  it("continues the client's trace", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const reply = await request(shop.url, "/api/v1/products", {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("traceparent")).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });

  it("answers unknown routes with 404 in the error shape", async () => {
    const reply = await request(shop.url, "/api/v1/nope");
    expect(reply.status).toBe(404);
    expect(reply.body.error).toMatchObject({ code: "NOT_FOUND", path: "/api/v1/nope" });
  });

  it("keeps the admin API off (404), never open, without PLEXUS_ADMIN_TOKEN", async () => {
    // This shop has no admin token; admin.test.ts covers the API with one.
    const reply = await request(shop.url, "/_plexus/api/health");
    expect(reply.status).toBe(404);
  });

  it("strips internal identity headers sent from outside", async () => {
    const user = await signUp(shop.url);
    const other = await signUp(shop.url);
    const reply = await request(shop.url, `/api/v1/users/${other.id}`, {
      token: user.token,
      headers: { "x-plexus-principal-subject": other.id, "x-user-id": other.id },
    });
    expect(reply.status).toBe(404);
    const anonymous = await request(shop.url, `/api/v1/users/${other.id}`, {
      headers: { "x-plexus-principal-subject": other.id },
    });
    expect(anonymous.status).toBe(401);
  });
});

describe("rate limiting", () => {
  it("sends RateLimit-* on every /api/ response and 429 with Retry-After past the limit", async () => {
    const ip = "/api/v1/products?limit=1";
    let limited;
    for (let i = 0; i < 60 && !limited; i += 1) {
      const reply = await request(shop.url, ip);
      expect(reply.headers.get("ratelimit-limit")).toBe("40");
      expect(Number(reply.headers.get("ratelimit-remaining"))).toBeGreaterThanOrEqual(0);
      expect(Number(reply.headers.get("ratelimit-reset"))).toBeGreaterThanOrEqual(0);
      if (reply.status === 429) limited = reply;
    }
    expect(limited?.body.error.code).toBe("RATE_LIMITED");
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("health and metrics", () => {
  it("serves liveness, readiness and Prometheus metrics", async () => {
    const live = await request(shop.url, "/health/live");
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: "ok" });
    const ready = await request(shop.url, "/health/ready");
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe("ok");
    expect(ready.body.checks).toMatchObject({ users: "ok", catalog: "ok" });
    await request(shop.url, "/api/v1/products?limit=1"); // the gateway calls catalog
    const metrics = await request(shop.url, "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(/http_request/);
    // Breaker state per callee, from its first call on (API.md "Operations").
    expect(metrics.text).toContain(
      'plexus_circuit_state{callee="shop.catalog.v1.CatalogService"} 0',
    );
  });
});
