import { randomUUID } from "node:crypto";
import { createFakeClock } from "@plexus/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf, removeDataDir, startTestShop, type TestShop } from "./test-shop.ts";

// A fake clock drives the whole host: time moves only when the test says so.
const clock = createFakeClock(Date.parse("2026-12-07T12:00:00Z"));
const ttlMs = 24 * 60 * 60_000;
const sweepMs = 10 * 60_000;
let shop: TestShop;

const items = [{ productId: "prd_dune", quantity: 1 }];

async function place(userId: string, key: string, lines = items) {
  return shop.orders.placeOrder({
    userId,
    idempotencyKey: key,
    items: lines,
    paymentToken: "tok_visa",
  });
}

async function keyRows(userId: string): Promise<number> {
  const { rows } = await shop.ordersEnv.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM order_idempotency_keys WHERE user_id = $1",
    [userId],
  );
  return rows[0]!.n;
}

beforeAll(async () => {
  // The defaults are API.md's 24 h; set here too, so the test says what it relies on.
  shop = await startTestShop({
    clock,
    config: {
      PLEXUS_IDEMPOTENCY_KEY_TTL_MS: String(ttlMs),
      PLEXUS_IDEMPOTENCY_SWEEP_MS: String(sweepMs),
    },
  });
}, 120_000);

afterAll(async () => {
  await shop?.close();
  if (shop) await removeDataDir(shop.dataDir);
});

describe("Idempotency-Key expiry (API.md: kept 24 h after first use)", () => {
  it("answers the same order until the key expires, then makes a new one", async () => {
    const userId = `usr_${randomUUID()}`;
    const key = randomUUID();
    const first = await place(userId, key);
    clock.setNow(clock.now() + ttlMs - 1);
    expect((await place(userId, key)).orderId).toBe(first.orderId);
    clock.setNow(clock.now() + 1);
    const second = await place(userId, key);
    expect(second.orderId).not.toBe(first.orderId);
    // The key now belongs to the new order, for another 24 h.
    expect((await place(userId, key)).orderId).toBe(second.orderId);
  });

  it("makes one new order of concurrent duplicates after expiry", async () => {
    const userId = `usr_${randomUUID()}`;
    const key = randomUUID();
    const first = await place(userId, key);
    clock.setNow(clock.now() + ttlMs);
    const answers = await Promise.all([1, 2, 3, 4].map(() => place(userId, key)));
    const ids = new Set(answers.map((a) => a.orderId));
    expect(ids.size).toBe(1);
    expect(ids.has(first.orderId)).toBe(false);
    expect(await keyRows(userId)).toBe(1);
  });

  it("refuses another body while the key lives, and accepts it once it expired", async () => {
    const userId = `usr_${randomUUID()}`;
    const key = randomUUID();
    const first = await place(userId, key);
    const other = [{ productId: "prd_sicp", quantity: 2 }];
    expect((await errorOf(place(userId, key, other))).reason).toBe("IDEMPOTENCY_KEY_REUSED");
    clock.setNow(clock.now() + ttlMs);
    const fresh = await place(userId, key, other);
    expect(fresh.orderId).not.toBe(first.orderId);
  });

  it("sweeps expired keys in the background, never a live one", async () => {
    const expired = `usr_${randomUUID()}`;
    const live = `usr_${randomUUID()}`;
    await place(expired, randomUUID());
    clock.setNow(clock.now() + ttlMs - sweepMs);
    await place(live, randomUUID());
    clock.setNow(clock.now() + sweepMs);
    expect(await keyRows(expired)).toBe(1);
    // The sweep fell due while time jumped: it runs now, at the current time.
    await clock.advanceAsync(0);
    await expect.poll(() => keyRows(expired)).toBe(0);
    expect(await keyRows(live)).toBe(1);
  });
});
