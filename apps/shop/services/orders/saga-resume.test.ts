import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  removeDataDir,
  settledOrder,
  startTestShop,
  stockOf,
  type TestShop,
} from "./test-shop.ts";

// tok_slow (800 ms) outlasts a charge try (500 ms); stopping abandons in-flight steps at once.
const config = {
  PLEXUS_PAYMENT_SLOW_MS: "800",
  PLEXUS_ORDER_CHARGE_TIMEOUT_MS: "500",
  PLEXUS_ORDER_SAGA_CLOSE_TIMEOUT_MS: "0",
};

const shops: TestShop[] = [];
let first: TestShop;

// A new data directory loads a cluster and runs every migration: seconds, more on a loaded machine.
beforeAll(async () => {
  first = await startTestShop({ config });
  shops.push(first);
}, 120_000);

afterAll(async () => {
  for (const shop of shops) await shop.close();
  if (shops[0]) await removeDataDir(shops[0].dataDir);
});

describe("restart", () => {
  it("resumes a saga stopped mid-charge on the same data: the order settles once, charged once", async () => {
    const userId = `usr_${randomUUID()}`;
    const before = await stockOf(first, "prd_tent-2p");
    const { orderId } = await first.orders.placeOrder({
      userId,
      idempotencyKey: randomUUID(),
      items: [{ productId: "prd_tent-2p", quantity: 2 }],
      paymentToken: "tok_slow",
    });
    // Stop while the charge is in flight at the (slow) provider.
    await eventually(
      () => first.ordersInstance.sagas!.get(orderId),
      (saga) =>
        saga !== undefined && saga.steps.some((s) => s.step === "charge" && s.outcome === null),
    );
    await first.close();

    const second = await startTestShop({
      config,
      dataDir: first.dataDir,
      logLines: first.logLines,
    });
    shops.push(second);
    const order = await settledOrder(second, orderId, userId);
    expect(order.status).toBe("CONFIRMED");

    const { charges } = await second.payments.listCharges({ orderId });
    expect(charges.map((c) => [c.status, c.amountCents])).toEqual([
      ["SUCCEEDED", order.totalCents],
    ]);
    expect(await stockOf(second, "prd_tent-2p")).toBe(before - 2);

    const saga = (await second.ordersInstance.sagas!.get(orderId))!;
    expect(saga.status).toBe("COMPLETED");
    const charge = saga.steps.filter((s) => s.step === "charge");
    expect(charge.map((s) => s.outcome)).toContain("INTERRUPTED");
    expect(charge.at(-1)!.outcome).toBe("SUCCEEDED");
    expect(new Set(charge.map((s) => s.idempotencyKey))).toEqual(
      new Set([`${orderId}:charge:action`]),
    );
    expect(saga.steps.filter((s) => s.step === "reserve").map((s) => s.outcome)).toEqual([
      "SUCCEEDED",
    ]);

    const { events } = await second.orders.listOrderEvents({ afterPosition: 0n, limit: 1000 });
    const types = events
      .map((e) => JSON.parse(e.eventJson) as { type: string; subject: string })
      .filter((e) => e.subject === orderId)
      .map((e) => e.type);
    expect(types).toEqual(["shop.orders.v1.OrderPlaced", "shop.orders.v1.OrderConfirmed"]);

    const history = await eventually(
      () => second.orders.listOrderHistory({ userId, page: 1, limit: 10 }),
      (h) => h.orders[0]?.status === "CONFIRMED",
    );
    expect(history.total).toBe(1);
    expect(second.logLines.filter((line) => line.includes("tok_"))).toEqual([]);
  }, 60_000);
});
