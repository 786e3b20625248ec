import { randomUUID } from "node:crypto";
import { Code } from "@plexus/core";
import { rebuildProjection } from "@plexus/projections";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { orderHistoryProjection } from "./service.ts";
import {
  errorOf,
  eventually,
  removeDataDir,
  settledOrder,
  startTestShop,
  stockOf,
  type TestShop,
} from "./test-shop.ts";

let shop: TestShop;
/** Every order placed here, to check the shop's invariants at the end. */
const placed: { orderId: string; userId: string }[] = [];
/** Stock of every product before any order. */
const seededStock = new Map<string, number>();

const products = [
  "prd_dune",
  "prd_sicp",
  "prd_ddia",
  "prd_little-prince",
  "prd_atlas-world",
  "prd_usb-c-cable",
  "prd_moka-pot",
  "prd_headlamp",
  "prd_chef-knife",
  "prd_wireless-mouse",
];

function newUser(): string {
  return `usr_${randomUUID()}`;
}

async function place(
  userId: string,
  items: { productId: string; quantity: number }[],
  paymentToken = "tok_visa",
  idempotencyKey = randomUUID(),
) {
  const response = await shop.orders.placeOrder({ userId, idempotencyKey, items, paymentToken });
  placed.push({ orderId: response.orderId, userId });
  return response;
}

async function chargesOf(orderId: string) {
  return (await shop.payments.listCharges({ orderId })).charges;
}

beforeAll(async () => {
  shop = await startTestShop();
  for (const id of products) seededStock.set(id, await stockOf(shop, id));
}, 120_000);

afterAll(async () => {
  await shop?.close();
  if (shop) await removeDataDir(shop.dataDir);
});

describe("PlaceOrder and the place-order saga", () => {
  it("confirms an order: PENDING at once, then CONFIRMED with one SUCCEEDED charge and stock taken", async () => {
    const userId = newUser();
    const before = await stockOf(shop, "prd_dune");
    const response = await place(userId, [
      { productId: "prd_dune", quantity: 2 },
      { productId: "prd_sicp", quantity: 1 },
    ]);
    expect(response.status).toBe("PENDING");
    expect(response.orderId).toMatch(/^ord_[0-9a-f-]{36}$/);

    const order = await settledOrder(shop, response.orderId, userId);
    expect(order.status).toBe("CONFIRMED");
    expect(order.userId).toBe(userId);
    expect(order.items.map((i) => [i.productId, i.quantity, i.unitPriceCents])).toEqual([
      ["prd_dune", 2, 1299n],
      ["prd_sicp", 1, 4850n],
    ]);
    expect(order.totalCents).toBe(2n * 1299n + 4850n);
    expect(order.currency).toBe("EUR");
    expect(order.failureReason).toBe("");
    expect(order.payment?.status).toBe("SUCCEEDED");
    expect(order.payment?.amountCents).toBe(order.totalCents);

    const charges = await chargesOf(response.orderId);
    expect(charges.filter((c) => c.status === "SUCCEEDED")).toHaveLength(1);
    expect(charges[0]!.chargeId).toBe(order.payment?.chargeId);
    expect(charges[0]!.amountCents).toBe(order.totalCents);
    expect(await stockOf(shop, "prd_dune")).toBe(before - 2);
  });

  it("cancels as OUT_OF_STOCK when a line cannot be served: nothing taken, nothing charged", async () => {
    const userId = newUser();
    const cheap = await stockOf(shop, "prd_little-prince");
    const atlas = await stockOf(shop, "prd_atlas-world");
    const { orderId } = await place(userId, [
      { productId: "prd_little-prince", quantity: 1 },
      { productId: "prd_atlas-world", quantity: atlas + 1 },
    ]);
    const order = await settledOrder(shop, orderId, userId);
    expect(order.status).toBe("CANCELLED");
    expect(order.failureReason).toBe("OUT_OF_STOCK");
    expect(order.payment).toBeUndefined();
    expect(await chargesOf(orderId)).toEqual([]);
    expect(await stockOf(shop, "prd_little-prince")).toBe(cheap);
    expect(await stockOf(shop, "prd_atlas-world")).toBe(atlas);
  });

  it("cancels as PAYMENT_DECLINED on tok_declined, releasing the stock", async () => {
    const userId = newUser();
    const before = await stockOf(shop, "prd_moka-pot");
    const { orderId } = await place(
      userId,
      [{ productId: "prd_moka-pot", quantity: 3 }],
      "tok_declined",
    );
    const order = await settledOrder(shop, orderId, userId);
    expect(order.status).toBe("CANCELLED");
    expect(order.failureReason).toBe("PAYMENT_DECLINED");
    expect(order.payment?.status).toBe("FAILED");
    const charges = await chargesOf(orderId);
    expect(charges.map((c) => c.status)).toEqual(["FAILED"]);
    expect(await stockOf(shop, "prd_moka-pot")).toBe(before);
  });

  it("confirms tok_slow (slower than the charge timeout) with exactly one charge", async () => {
    const userId = newUser();
    const { orderId } = await place(
      userId,
      [{ productId: "prd_headlamp", quantity: 1 }],
      "tok_slow",
    );
    const order = await settledOrder(shop, orderId, userId);
    expect(order.status).toBe("CONFIRMED");
    const charges = await chargesOf(orderId);
    expect(charges).toHaveLength(1);
    expect(charges[0]!.status).toBe("SUCCEEDED");
    // The first try timed out and a retry with the same key found the provider's charge.
    const saga = (await shop.ordersInstance.sagas!.get(orderId))!;
    const tries = saga.steps.filter((s) => s.step === "charge" && s.phase === "action");
    expect(tries.length).toBeGreaterThan(1);
    expect(tries[0]!.outcome).toBe("RETRYING");
    expect(new Set(tries.map((t) => t.idempotencyKey))).toEqual(
      new Set([`${orderId}:charge:action`]),
    );
  });

  it("charges tok_flaky exactly once, whatever its transient failures", async () => {
    const userId = newUser();
    const orders = await Promise.all(
      [1, 2, 3, 4].map(() =>
        place(userId, [{ productId: "prd_usb-c-cable", quantity: 1 }], "tok_flaky"),
      ),
    );
    for (const { orderId } of orders) {
      const order = await settledOrder(shop, orderId, userId);
      expect(order.status).toBe("CONFIRMED");
      const charges = await chargesOf(orderId);
      expect(charges.filter((c) => c.status === "SUCCEEDED")).toHaveLength(1);
      expect(charges.every((c) => c.status === "SUCCEEDED" || c.status === "FAILED")).toBe(true);
    }
  });
});

describe("idempotency", () => {
  it("answers the same order for the same user, key and body", async () => {
    const userId = newUser();
    const key = randomUUID();
    const items = [{ productId: "prd_chef-knife", quantity: 1 }];
    const first = await place(userId, items, "tok_visa", key);
    const second = await place(userId, items, "tok_visa", key);
    expect(second.orderId).toBe(first.orderId);
    await settledOrder(shop, first.orderId, userId);
    const third = await place(userId, items, "tok_visa", key);
    expect(third).toMatchObject({ orderId: first.orderId, status: "CONFIRMED" });
    expect((await chargesOf(first.orderId)).filter((c) => c.status === "SUCCEEDED")).toHaveLength(
      1,
    );
  });

  it("makes one order of concurrent duplicates", async () => {
    const userId = newUser();
    const key = randomUUID();
    const before = await stockOf(shop, "prd_wireless-mouse");
    const items = [{ productId: "prd_wireless-mouse", quantity: 2 }];
    const answers = await Promise.all(
      [1, 2, 3, 4, 5].map(() => place(userId, items, "tok_visa", key)),
    );
    expect(new Set(answers.map((a) => a.orderId)).size).toBe(1);
    const orderId = answers[0]!.orderId;
    await settledOrder(shop, orderId, userId);
    expect(await stockOf(shop, "prd_wireless-mouse")).toBe(before - 2);
    const history = await eventually(
      () => shop.orders.listOrderHistory({ userId, page: 1, limit: 10 }),
      (h) => h.orders[0]?.status === "CONFIRMED",
    );
    expect(history.total).toBe(1);
  });

  it("refuses the same key with another body (IDEMPOTENCY_KEY_REUSED), per user", async () => {
    const userId = newUser();
    const key = randomUUID();
    const { orderId } = await place(
      userId,
      [{ productId: "prd_dune", quantity: 1 }],
      "tok_visa",
      key,
    );
    const otherLines = await errorOf(
      place(userId, [{ productId: "prd_dune", quantity: 2 }], "tok_visa", key),
    );
    expect(otherLines.code).toBe(Code.FailedPrecondition);
    expect(otherLines.reason).toBe("IDEMPOTENCY_KEY_REUSED");
    const otherToken = await errorOf(
      place(userId, [{ productId: "prd_dune", quantity: 1 }], "tok_declined", key),
    );
    expect(otherToken.reason).toBe("IDEMPOTENCY_KEY_REUSED");
    // Keys are per user: another user's same key is another order.
    const stranger = await place(
      newUser(),
      [{ productId: "prd_dune", quantity: 1 }],
      "tok_visa",
      key,
    );
    expect(stranger.orderId).not.toBe(orderId);
    await settledOrder(shop, orderId, userId);
  });
});

describe("validation", () => {
  async function violations(request: {
    items: { productId: string; quantity: number }[];
    paymentToken?: string;
    idempotencyKey?: string;
    userId?: string;
  }) {
    const error = await errorOf(
      shop.orders.placeOrder({
        userId: request.userId ?? newUser(),
        idempotencyKey: request.idempotencyKey ?? randomUUID(),
        items: request.items,
        paymentToken: request.paymentToken ?? "tok_visa",
      }),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.reason).toBe("VALIDATION_ERROR");
    return error.details.map((d) => d.field);
  }

  it("names every bad field", async () => {
    expect(await violations({ items: [] })).toEqual(["items"]);
    expect(
      await violations({
        items: [
          { productId: "prd_dune", quantity: 0 },
          { productId: "", quantity: 1 },
          { productId: "prd_dune", quantity: 1001 },
        ],
        paymentToken: "",
      }),
    ).toEqual(["items[0].quantity", "items[1].productId", "items[2].quantity", "paymentToken"]);
    const many = Array.from({ length: 101 }, () => ({ productId: "prd_dune", quantity: 1 }));
    expect(await violations({ items: many })).toEqual(["items"]);
    expect(
      await violations({ items: [{ productId: "prd_dune", quantity: 1 }], idempotencyKey: "" }),
    ).toEqual(["idempotencyKey"]);
  });

  it("refuses unknown products on their line", async () => {
    expect(
      await violations({
        items: [
          { productId: "prd_dune", quantity: 1 },
          { productId: "prd_no-such-thing", quantity: 1 },
        ],
      }),
    ).toEqual(["items[1].productId"]);
  });
});

describe("GetOrder", () => {
  it("shows an order to its owner only; others and unknown ids are ORDER_NOT_FOUND", async () => {
    const userId = newUser();
    const { orderId } = await place(userId, [{ productId: "prd_ddia", quantity: 1 }]);
    const own = await shop.orders.getOrder({ orderId, userId });
    expect(own.order?.id).toBe(orderId);
    expect(own.order?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    for (const request of [
      { orderId, userId: newUser() },
      { orderId: `ord_${randomUUID()}`, userId },
      { orderId: "not-an-order", userId },
    ]) {
      const error = await errorOf(shop.orders.getOrder(request));
      expect(error.code).toBe(Code.NotFound);
      expect(error.reason).toBe("ORDER_NOT_FOUND");
    }
    // Ids orders.proto refuses never reach the handler (the gateway answers them 404).
    for (const request of [
      { orderId, userId: "" },
      { orderId: "", userId },
    ]) {
      expect((await errorOf(shop.orders.getOrder(request))).reason).toBe("VALIDATION_ERROR");
    }
    await settledOrder(shop, orderId, userId);
  });
});

describe("events and the order history read model", () => {
  it("logs each order's events in write order", async () => {
    const userId = newUser();
    const { orderId } = await place(
      userId,
      [{ productId: "prd_dune", quantity: 1 }],
      "tok_declined",
    );
    await settledOrder(shop, orderId, userId);
    const all = [];
    let after = 0n;
    for (;;) {
      const page = await shop.orders.listOrderEvents({ afterPosition: after, limit: 50 });
      if (page.events.length === 0) break;
      all.push(...page.events);
      after = page.events.at(-1)!.position;
    }
    const positions = all.map((e) => e.position);
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
    const mine = all
      .map(
        (e) =>
          JSON.parse(e.eventJson) as {
            type: string;
            subject: string;
            data: Record<string, unknown>;
          },
      )
      .filter((e) => e.subject === orderId);
    expect(mine.map((e) => e.type)).toEqual([
      "shop.orders.v1.OrderPlaced",
      "shop.orders.v1.OrderCancelled",
    ]);
    expect(mine[1]!.data).toMatchObject({ orderId, userId, failureReason: "PAYMENT_DECLINED" });
  });

  it("lists a user's settled orders newest first, and a rebuild from the log reproduces it", async () => {
    const userId = newUser();
    const first = await place(userId, [{ productId: "prd_dune", quantity: 2 }]);
    await settledOrder(shop, first.orderId, userId);
    const second = await place(userId, [{ productId: "prd_sicp", quantity: 1 }], "tok_declined");
    await settledOrder(shop, second.orderId, userId);

    const history = await eventually(
      () => shop.orders.listOrderHistory({ userId, page: 1, limit: 10 }),
      (h) => h.total === 2 && h.orders.every((o) => o.status !== "PENDING"),
    );
    expect(history.orders.map((o) => [o.id, o.status, o.totalCents, o.itemCount])).toEqual([
      [second.orderId, "CANCELLED", 4850n, 1],
      [first.orderId, "CONFIRMED", 2598n, 2],
    ]);
    const paged = await shop.orders.listOrderHistory({ userId, page: 2, limit: 1 });
    expect(paged.orders.map((o) => o.id)).toEqual([first.orderId]);
    expect(paged.total).toBe(2);

    const report = await rebuildProjection(shop.ordersEnv.db, orderHistoryProjection);
    expect(report.events).toBeGreaterThanOrEqual(4);
    expect(report.resumed).toBe(false);
    const rebuilt = await shop.orders.listOrderHistory({ userId, page: 1, limit: 10 });
    expect(rebuilt).toEqual(history);
  });

  it("refuses bad pages", async () => {
    const error = await errorOf(
      shop.orders.listOrderHistory({ userId: newUser(), page: 0, limit: 101 }),
    );
    expect(error.reason).toBe("VALIDATION_ERROR");
    expect(error.details.map((d) => d.field)).toEqual(["page", "limit"]);
  });
});

describe("invariants", () => {
  it("stock taken equals CONFIRMED quantities; every CONFIRMED order has one SUCCEEDED charge of its total; CANCELLED none", async () => {
    const confirmed = new Map<string, number>();
    // Idempotent repeats answered the same order: count each order once.
    const orders = new Map(placed.map((p) => [p.orderId, p.userId]));
    for (const [orderId, userId] of orders) {
      const order = await settledOrder(shop, orderId, userId);
      const succeeded = (await chargesOf(orderId)).filter((c) => c.status === "SUCCEEDED");
      if (order.status === "CONFIRMED") {
        expect(succeeded.map((c) => c.amountCents)).toEqual([order.totalCents]);
        for (const line of order.items) {
          confirmed.set(line.productId, (confirmed.get(line.productId) ?? 0) + line.quantity);
        }
      } else {
        expect(succeeded).toEqual([]);
      }
    }
    for (const id of products) {
      expect(seededStock.get(id)! - (await stockOf(shop, id))).toBe(confirmed.get(id) ?? 0);
    }
  });

  it("never logs a card token", () => {
    expect(shop.logLines.length).toBeGreaterThan(0);
    expect(shop.logLines.filter((line) => line.includes("tok_"))).toEqual([]);
  });
});
