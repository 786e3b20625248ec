/**
 * API.md's PAYMENT_UNAVAILABLE, black-box: the shop configured (through its documented settings,
 * no backdoor) so that tok_slow outlasts every charge try: a short charge timeout and two tries.
 * The order must end CANCELLED / PAYMENT_UNAVAILABLE with its stock released and no charge kept —
 * not even the one the provider was still working on when the saga gave up.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { request, signUp } from "../support/http.ts";
import {
  getCharges,
  invariantViolations,
  placeOrder,
  pollUntil,
  stockLevels,
  waitSettled,
} from "../support/orders.ts";
import { removeDataDir, startShop, type ShopProcess } from "../support/shop-process.ts";

const slowMs = 2_000;
let shop: ShopProcess;

beforeAll(async () => {
  shop = await startShop({
    startTimeoutMs: 110_000,
    env: {
      PLEXUS_RATE_LIMIT: "100000",
      PLEXUS_PAYMENT_SLOW_MS: String(slowMs),
      PLEXUS_PAYMENT_CHARGE_TIMEOUT_MS: "300",
      PLEXUS_ORDER_CHARGE_TIMEOUT_MS: "300",
      PLEXUS_ORDER_CHARGE_MAX_ATTEMPTS: "2",
      PLEXUS_ORDER_RETRY_DELAY_MS: "50",
    },
  });
}, 120_000);

afterAll(async () => {
  await shop?.stop();
  if (shop) await removeDataDir(shop.dataDir);
});

it("cancels as PAYMENT_UNAVAILABLE, releases the stock and keeps no charge", async () => {
  const seeded = await stockLevels(shop.url);
  const user = await signUp(shop.url, "Unavailable");
  const lines = [{ productId: "prd_headlamp", quantity: 2 }];
  const order = await placeOrder(shop.url, user.token, lines, "tok_slow");
  const settled = await waitSettled(shop.url, user.token, order.id);
  expect(settled.status).toBe("CANCELLED");
  expect(settled.failureReason).toBe("PAYMENT_UNAVAILABLE");

  // Past the moment the provider would have finished the slow charge: it must not have.
  await sleep(slowMs + 500);
  const charges = await getCharges(shop.url, user.token, order.id);
  expect(charges.filter((c) => c.status === "SUCCEEDED")).toEqual([]);
  expect(await invariantViolations(shop.url, seeded, [order])).toEqual([]);

  const notifications = await pollUntil(
    () => request(shop.url, "/api/v1/me/notifications", { token: user.token }),
    (reply) => (reply.body.data.length > 0 ? reply.body.data : undefined),
    { timeoutMs: 5_000, what: "the cancellation notification" },
  );
  expect(notifications).toEqual([
    expect.objectContaining({ type: "order.cancelled", orderId: order.id }),
  ]);
});
