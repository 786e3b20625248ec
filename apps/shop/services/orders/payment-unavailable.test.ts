import { randomUUID } from "node:crypto";
import { Code, defineService, PlexusError } from "@plexus/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentsService } from "../payments/service.ts";
import {
  eventually,
  removeDataDir,
  settledOrder,
  startTestShop,
  stockOf,
  type TestShop,
} from "./test-shop.ts";

/*
 * The payment provider stays slower than the charge policy allows (tok_slow takes 1.5 s, a try
 * 100 ms, two tries): from the orders' side it is down. Refunds can be taken down too (fault
 * injection around the real payments service) to park a saga.
 */
let refundsDown = false;
const payments = defineService({
  ...paymentsService,
  create: async (env) => {
    const instance = await paymentsService.create(env);
    return {
      ...instance,
      handlers: {
        ...instance.handlers,
        refundOrder(request, ctx) {
          if (refundsDown) {
            return Promise.reject(new PlexusError(Code.Unavailable, "injected: refunds are down"));
          }
          return instance.handlers.refundOrder(request, ctx);
        },
      },
    };
  },
});

let shop: TestShop;

beforeAll(async () => {
  shop = await startTestShop({
    payments,
    config: {
      PLEXUS_PAYMENT_SLOW_MS: "1500",
      PLEXUS_ORDER_CHARGE_TIMEOUT_MS: "100",
      PLEXUS_ORDER_CHARGE_MAX_ATTEMPTS: "2",
      PLEXUS_ORDER_RETRY_DELAY_MS: "10",
    },
  });
}, 120_000);

afterAll(async () => {
  refundsDown = false;
  await shop?.close();
  if (shop) await removeDataDir(shop.dataDir);
});

async function placeSlow(userId: string, productId: string) {
  return shop.orders.placeOrder({
    userId,
    idempotencyKey: randomUUID(),
    items: [{ productId, quantity: 1 }],
    paymentToken: "tok_slow",
  });
}

describe("payment provider unavailable", () => {
  it("cancels as PAYMENT_UNAVAILABLE once retries run out: stock released, no charge kept", async () => {
    const userId = `usr_${randomUUID()}`;
    const before = await stockOf(shop, "prd_kitchen-scale");
    const { orderId } = await placeSlow(userId, "prd_kitchen-scale");
    const order = await settledOrder(shop, orderId, userId);
    expect(order.status).toBe("CANCELLED");
    expect(order.failureReason).toBe("PAYMENT_UNAVAILABLE");
    expect(await stockOf(shop, "prd_kitchen-scale")).toBe(before);
    // The charge's own compensation ran although its action only timed out: RefundOrder voided
    // the key still in flight at the provider (without it the charge would still be PENDING,
    // invisible here, and succeed once the provider answers).
    const { charges } = await shop.payments.listCharges({ orderId });
    expect(charges.map((c) => [c.status, c.failureReason])).toEqual([["FAILED", "PAYMENT_VOIDED"]]);
    expect(order.payment).toMatchObject({ status: "FAILED", chargeId: charges[0]!.chargeId });
  });

  it("parks the saga as NEEDS_ATTENTION when the refund keeps failing (order stays PENDING); an operator retry settles it", async () => {
    refundsDown = true;
    const userId = `usr_${randomUUID()}`;
    const before = await stockOf(shop, "prd_french-press");
    const { orderId } = await placeSlow(userId, "prd_french-press");
    const admin = shop.ordersInstance.sagas!;
    const parked = await eventually(
      () => admin.list({ status: "NEEDS_ATTENTION" }),
      (page) => page.items.some((s) => s.id === orderId),
    );
    expect(parked.items.map((s) => s.id)).toContain(orderId);
    const pending = await shop.orders.getOrder({ orderId, userId });
    expect(pending.order?.status).toBe("PENDING");
    expect(pending.order?.payment?.status).toBe("PENDING");

    refundsDown = false;
    await admin.retry(orderId);
    const order = await settledOrder(shop, orderId, userId);
    expect(order.status).toBe("CANCELLED");
    expect(order.failureReason).toBe("PAYMENT_UNAVAILABLE");
    expect(await stockOf(shop, "prd_french-press")).toBe(before);
    // Voided if the provider had not answered yet, else refunded: never kept.
    const { charges } = await shop.payments.listCharges({ orderId });
    expect(charges).toHaveLength(1);
    expect(["FAILED", "REFUNDED"]).toContain(charges[0]!.status);
    expect(order.payment?.status).toBe(charges[0]!.status);
  });
});
