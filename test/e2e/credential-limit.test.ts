/**
 * Issue 8, "one client cannot trip a breaker for everyone", for the routes that cost a password
 * hash: with the shop's default settings, one client flooding sign-ups and logins gets 429
 * `RATE_LIMITED` past the credential limit (10 a minute, 5 at once, per client IP), the users
 * breaker stays closed, and another client (another loopback address) still signs up, logs in
 * and browses. Before the limit, ~10 concurrent hashes from one client saturated the CPU, the
 * users calls timed out and the users breaker opened for every caller in the host.
 *
 * PGlite only (vitest.config.ts): the gateway limits the same whatever the storage.
 */
import { randomUUID } from "node:crypto";
import { Agent, request as undiciRequest } from "undici";
import { afterAll, beforeAll, expect, it } from "vitest";
import { request, uniqueEmail, type Reply } from "../support/http.ts";
import { circuitStates } from "../support/metrics.ts";
import { removeDataDir, startShop, type ShopProcess } from "../support/shop-process.ts";

let shop: ShopProcess;
/** A second client: Linux answers all of 127.0.0.0/8 on loopback, so the gateway sees another IP. */
let otherClient: Agent;
beforeAll(async () => {
  shop = await startShop({ startTimeoutMs: 110_000 });
  otherClient = new Agent({ localAddress: "127.0.0.2" });
}, 120_000);
afterAll(async () => {
  await otherClient?.close();
  await shop.stop();
  await removeDataDir(shop.dataDir);
});

const password = "correct horse battery";

/** POSTs JSON as the second client. */
async function postAsOther(
  path: string,
  body: unknown,
): Promise<{ status: number; body: { tokenType?: string } }> {
  const res = await undiciRequest(new URL(path, shop.url), {
    method: "POST",
    dispatcher: otherClient,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as { tokenType?: string } };
}

it("one client's flood of sign-ups and logins is refused past the limit; nobody else notices", async () => {
  // 30 at once, alternating sign-ups and logins (of unknown emails: each still costs a hash).
  const flood = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      i % 2 === 0
        ? request(shop.url, "/api/v1/users", {
            body: { email: uniqueEmail("flood"), name: "Flood", password },
          })
        : request(shop.url, "/api/v1/auth/token", {
            body: { email: `${randomUUID()}@example.com`, password },
          }),
    ),
  );
  const limited = flood.filter((r) => r.status === 429);
  const through = flood.filter((r) => r.status !== 429);
  // The burst reaches the users service (how its hashes fare on a busy machine is not the point
  // here); the long-run rate bounds the rest even if the flood took a while to arrive.
  expect(through.length).toBeGreaterThanOrEqual(5);
  expect(through.length).toBeLessThanOrEqual(10);
  for (const reply of limited) expectRateLimited(reply);

  // The users service never saw the flood: its breaker, and every other, stays closed.
  const states = await circuitStates(shop.url);
  expect(states["shop.users.v1.UsersService"]).toBe(0);
  for (const [callee, state] of Object.entries(states))
    expect({ callee, state }).toEqual({ callee, state: 0 });

  // The flooding client still browses: only the credential routes have the stricter limit.
  const products = await request(shop.url, "/api/v1/products?limit=1");
  expect(products.status).toBe(200);
  expect(products.headers.get("ratelimit-limit")).toBe("600");

  // Another client signs up and logs in as usual.
  const email = uniqueEmail("bystander");
  const created = await postAsOther("/api/v1/users", { email, name: "Bystander", password });
  expect(created.status).toBe(201);
  const token = await postAsOther("/api/v1/auth/token", { email, password });
  expect(token.status).toBe(200);
  expect(token.body.tokenType).toBe("Bearer");
});

function expectRateLimited(reply: Reply): void {
  expect(reply.body.error.code).toBe("RATE_LIMITED");
  // One request every 6 s once the burst is spent.
  expect(Number(reply.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(Number(reply.headers.get("retry-after"))).toBeLessThanOrEqual(6);
  // The headers describe the credential limit, the one that binds; the policy lists both.
  expect(reply.headers.get("ratelimit-limit")).toBe("10");
  expect(reply.headers.get("ratelimit-remaining")).toBe("0");
  expect(reply.headers.get("ratelimit-policy")).toBe("600;w=60, 10;w=60;burst=5");
}
