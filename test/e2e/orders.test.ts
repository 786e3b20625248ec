/**
 * API.md "Orders (the saga)", "Notifications" and "Composition at the gateway", black-box: the
 * real shop process (`plexus up apps/shop/topology/monolith.ts`) driven over HTTP.
 *
 * The payment knobs shorten tok_slow (and the charge timeouts with it, keeping slow > timeout, so
 * the retry-with-the-same-key path still runs) to keep the suite fast.
 */
import { request as httpRequest } from "node:http";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, signUp } from "../support/http.ts";
import {
  getCharges,
  getOrder,
  invariantViolations,
  placeOrder,
  pollUntil,
  postOrder,
  stockLevels,
  waitSettled,
  type Line,
  type OrderView,
  type PlacedOrder,
} from "../support/orders.ts";
import {
  manySignUpsEnv,
  removeDataDir,
  startShop,
  type ShopProcess,
} from "../support/shop-process.ts";

type User = Awaited<ReturnType<typeof signUp>>;

let shop: ShopProcess;
let seeded: Map<string, number>;
let prices: Map<string, number>;
/** Every order placed on this shop, for the invariant check at the end. */
const placed: PlacedOrder[] = [];
let alice: User;
let bob: User;

beforeAll(async () => {
  shop = await startShop({
    startTimeoutMs: 110_000,
    env: {
      ...manySignUpsEnv,
      PLEXUS_RATE_LIMIT: "100000",
      PLEXUS_PAYMENT_SLOW_MS: "1500",
      PLEXUS_PAYMENT_CHARGE_TIMEOUT_MS: "1000",
      PLEXUS_ORDER_CHARGE_TIMEOUT_MS: "1000",
      PLEXUS_ORDER_RETRY_DELAY_MS: "100",
    },
  });
  seeded = await stockLevels(shop.url);
  const products = await request(shop.url, "/api/v1/products?limit=100");
  prices = new Map(
    (products.body.data as { id: string; priceCents: number }[]).map((p) => [p.id, p.priceCents]),
  );
  [alice, bob] = await Promise.all([signUp(shop.url, "Alice"), signUp(shop.url, "Bob")]);
  // A fresh data directory (from the cached template) runs every migration: slow on a busy machine.
}, 120_000);

afterAll(async () => {
  await shop?.stop();
  if (shop) await removeDataDir(shop.dataDir);
});

async function place(
  user: User,
  lines: Line[],
  paymentToken: string,
  key?: string,
): Promise<PlacedOrder> {
  const order = await placeOrder(shop.url, user.token, lines, paymentToken, key);
  placed.push(order);
  return order;
}

async function stockOf(productId: string): Promise<number> {
  return (await stockLevels(shop.url)).get(productId)!;
}

function totalOf(lines: Line[]): number {
  return lines.reduce((sum, l) => sum + prices.get(l.productId)! * l.quantity, 0);
}

describe("POST /api/v1/orders → the saga", () => {
  it("accepts an order (202, Location, PENDING) and confirms it with tok_visa", async () => {
    const lines = [
      { productId: "prd_dune", quantity: 2 },
      { productId: "prd_moka-pot", quantity: 1 },
    ];
    const before = await stockLevels(shop.url);
    const reply = await postOrder(shop.url, alice.token, lines, "tok_visa");
    expect(reply.status).toBe(202);
    expect(Object.keys(reply.body)).toEqual(["data"]);
    expect(Object.keys(reply.body.data).sort()).toEqual(["id", "status"]);
    expect(reply.body.data.status).toBe("PENDING");
    const id = reply.body.data.id as string;
    expect(reply.headers.get("location")).toBe(`/api/v1/orders/${encodeURIComponent(id)}`);
    placed.push({ id, token: alice.token, lines });

    const order = await waitSettled(shop.url, alice.token, id);
    const total = totalOf(lines);
    expect(order).toEqual({
      id,
      userId: alice.id,
      status: "CONFIRMED",
      items: lines.map((l) => ({ ...l, unitPriceCents: prices.get(l.productId) })),
      totalCents: total,
      currency: "EUR",
      payment: { status: "SUCCEEDED", chargeId: expect.any(String), amountCents: total },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(Date.parse(order.updatedAt)).toBeGreaterThanOrEqual(Date.parse(order.createdAt));

    const charges = await getCharges(shop.url, alice.token, id);
    expect(charges).toEqual([
      { chargeId: order.payment!.chargeId, status: "SUCCEEDED", amountCents: total },
    ]);
    const after = await stockLevels(shop.url);
    expect(before.get("prd_dune")! - after.get("prd_dune")!).toBe(2);
    expect(before.get("prd_moka-pot")! - after.get("prd_moka-pot")!).toBe(1);
  });

  it("cancels a declined payment (PAYMENT_DECLINED), releases the stock, keeps no charge", async () => {
    const lines = [{ productId: "prd_headlamp", quantity: 3 }];
    const before = await stockOf("prd_headlamp");
    const { id } = await place(alice, lines, "tok_declined");
    const order = await waitSettled(shop.url, alice.token, id);
    expect(order.status).toBe("CANCELLED");
    expect(order.failureReason).toBe("PAYMENT_DECLINED");
    const charges = await getCharges(shop.url, alice.token, id);
    expect(charges.filter((c) => c.status === "SUCCEEDED")).toEqual([]);
    if (order.payment) expect(order.payment.status).not.toBe("SUCCEEDED");
    expect(await stockOf("prd_headlamp")).toBe(before);
  });

  it("cancels an order the stock cannot serve (OUT_OF_STOCK) without charging", async () => {
    // prd_atlas-world is seeded with 100 and nothing else here buys it.
    const before = await stockOf("prd_atlas-world");
    const { id } = await place(
      alice,
      [
        { productId: "prd_usb-c-cable", quantity: 1 },
        { productId: "prd_atlas-world", quantity: before + 1 },
      ],
      "tok_visa",
    );
    const order = await waitSettled(shop.url, alice.token, id);
    expect(order.status).toBe("CANCELLED");
    expect(order.failureReason).toBe("OUT_OF_STOCK");
    expect(order.payment).toBeUndefined();
    expect(await getCharges(shop.url, alice.token, id)).toEqual([]);
    // All or nothing: the line that could be served took nothing either.
    expect(await stockOf("prd_atlas-world")).toBe(before);
  });

  it("charges tok_slow once although the first try times out and is retried", async () => {
    const lines = [{ productId: "prd_french-press", quantity: 1 }];
    const { id } = await place(alice, lines, "tok_slow");
    const order = await waitSettled(shop.url, alice.token, id);
    expect(order.status).toBe("CONFIRMED");
    const charges = await getCharges(shop.url, alice.token, id);
    expect(charges.filter((c) => c.status === "SUCCEEDED")).toHaveLength(1);
    expect(charges.filter((c) => c.status === "SUCCEEDED")[0]!.amountCents).toBe(totalOf(lines));
  });

  it("charges tok_flaky at most once per order, settling each one way or the other", async () => {
    const orders = await Promise.all(
      Array.from({ length: 6 }, () =>
        place(alice, [{ productId: "prd_water-bottle", quantity: 1 }], "tok_flaky"),
      ),
    );
    for (const { id } of orders) {
      const order = await waitSettled(shop.url, alice.token, id);
      const succeeded = (await getCharges(shop.url, alice.token, id)).filter(
        (c) => c.status === "SUCCEEDED",
      );
      if (order.status === "CONFIRMED") {
        expect(succeeded).toHaveLength(1);
        expect(order.payment?.chargeId).toBe(succeeded[0]!.chargeId);
      } else {
        expect(order.failureReason).toBe("PAYMENT_UNAVAILABLE");
        expect(succeeded).toEqual([]);
      }
    }
  });

  it("declines an unknown card token", async () => {
    const { id } = await place(alice, [{ productId: "prd_dune", quantity: 1 }], "tok_nonsense");
    const order = await waitSettled(shop.url, alice.token, id);
    expect(order.status).toBe("CANCELLED");
    expect(order.failureReason).toBe("PAYMENT_DECLINED");
  });

  it("never moves a settled order again", async () => {
    const { id } = await place(alice, [{ productId: "prd_dune", quantity: 1 }], "tok_visa");
    const first = await waitSettled(shop.url, alice.token, id);
    const again = await getOrder(shop.url, alice.token, id);
    expect(again.status).toBe(first.status);
    expect(again.updatedAt).toBe(first.updatedAt);
  });

  it("needs a token", async () => {
    const reply = await postOrder(
      shop.url,
      "",
      [{ productId: "prd_dune", quantity: 1 }],
      "tok_visa",
    );
    expect(reply.status).toBe(401);
    expect(reply.body.error.code).toBe("UNAUTHENTICATED");
  });
});

describe("Idempotency-Key", () => {
  const lines = [{ productId: "prd_notebook-a5", quantity: 1 }];

  it("answers the same order for the same key and body, and charges once", async () => {
    const key = randomUUID();
    const first = await place(alice, lines, "tok_visa", key);
    const again = await postOrder(shop.url, alice.token, lines, "tok_visa", key);
    expect(again.status).toBe(202);
    expect(again.body.data.id).toBe(first.id);
    expect(again.headers.get("location")).toBe(`/api/v1/orders/${first.id}`);
    await waitSettled(shop.url, alice.token, first.id);
    const later = await postOrder(shop.url, alice.token, lines, "tok_visa", key);
    expect(later.body.data.id).toBe(first.id);
    expect(await getCharges(shop.url, alice.token, first.id)).toHaveLength(1);
  });

  it("makes one order and one charge of concurrent duplicates", async () => {
    const user = await signUp(shop.url, "Concurrent");
    const key = randomUUID();
    const before = await stockOf("prd_notebook-a5");
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => postOrder(shop.url, user.token, lines, "tok_visa", key)),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(202));
    const ids = new Set(replies.map((r) => r.body.data.id as string));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    placed.push({ id: id!, token: user.token, lines });
    const order = await waitSettled(shop.url, user.token, id!);
    expect(order.status).toBe("CONFIRMED");
    expect(await getCharges(shop.url, user.token, id!)).toHaveLength(1);
    expect(before - (await stockOf("prd_notebook-a5"))).toBe(1);
    const history = await request(shop.url, "/api/v1/me/orders", { token: user.token });
    expect(history.body.pagination.total).toBe(1);
  });

  it("refuses the same key with another body (422 IDEMPOTENCY_KEY_REUSED)", async () => {
    const key = randomUUID();
    await place(alice, lines, "tok_visa", key);
    for (const [otherLines, token] of [
      [[{ productId: "prd_notebook-a5", quantity: 2 }], "tok_visa"],
      [lines, "tok_declined"],
    ] as const) {
      const reply = await postOrder(shop.url, alice.token, [...otherLines], token, key);
      expect(reply.status).toBe(422);
      expect(reply.body.error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    }
  });

  it("scopes keys to the user: another user's same key is another order", async () => {
    const key = randomUUID();
    const a = await place(alice, lines, "tok_visa", key);
    const b = await place(bob, lines, "tok_visa", key);
    expect(b.id).not.toBe(a.id);
  });

  it.each([
    ["missing", null],
    ["empty", ""],
    ["too long", "k".repeat(256)],
    ["not printable", "a\tb"],
  ])("answers 400 BAD_REQUEST when it is %s", async (_what, key) => {
    const reply = await postOrder(shop.url, alice.token, lines, "tok_visa", key);
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe("BAD_REQUEST");
  });

  it("accepts 255 printable characters, spaces and symbols included", async () => {
    const key = `${"k".repeat(250)} ~!#$`;
    expect(key).toHaveLength(255);
    await place(alice, lines, "tok_visa", key);
  });

  it("answers 400 when the header is sent twice", async () => {
    const body = JSON.stringify({ items: lines, paymentMethod: { token: "tok_visa" } });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        new URL("/api/v1/orders", shop.url),
        {
          method: "POST",
          headers: [
            "content-type",
            "application/json",
            "authorization",
            `Bearer ${alice.token}`,
            "idempotency-key",
            "one",
            "idempotency-key",
            "two",
          ],
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect(status).toBe(400);
  });
});

describe("validation", () => {
  const good = {
    items: [{ productId: "prd_dune", quantity: 1 }],
    paymentMethod: { token: "tok_visa" },
  };

  async function post(body: unknown, headers: Record<string, string> = {}) {
    return request(shop.url, "/api/v1/orders", {
      token: alice.token,
      headers: { "idempotency-key": randomUUID(), ...headers },
      body,
    });
  }

  it.each([
    ["empty items", { ...good, items: [] }, "items"],
    [
      "quantity 0",
      { ...good, items: [{ productId: "prd_dune", quantity: 0 }] },
      "items[0].quantity",
    ],
    [
      "quantity -1",
      { ...good, items: [{ productId: "prd_dune", quantity: -1 }] },
      "items[0].quantity",
    ],
    [
      "quantity 1001",
      {
        ...good,
        items: [
          { productId: "prd_dune", quantity: 1 },
          { productId: "prd_dune", quantity: 1001 },
        ],
      },
      "items[1].quantity",
    ],
    [
      "quantity 1.5",
      { ...good, items: [{ productId: "prd_dune", quantity: 1.5 }] },
      "items[0].quantity",
    ],
    [
      "quantity as a string",
      { ...good, items: [{ productId: "prd_dune", quantity: "2" }] },
      "items[0].quantity",
    ],
    ["no quantity", { ...good, items: [{ productId: "prd_dune" }] }, "items[0].quantity"],
    ["no productId", { ...good, items: [{ quantity: 1 }] }, "items[0].productId"],
    [
      "101 lines",
      {
        ...good,
        items: Array.from({ length: 101 }, () => ({ productId: "prd_dune", quantity: 1 })),
      },
      "items",
    ],
    ["an unknown top-level field", { ...good, coupon: "FREE" }, "coupon"],
    [
      "an unknown line field",
      { ...good, items: [{ productId: "prd_dune", quantity: 1, colour: "red" }] },
      "items[0].colour",
    ],
    [
      "an unknown payment field",
      { ...good, paymentMethod: { token: "tok_visa", cvc: "123" } },
      "paymentMethod.cvc",
    ],
    ["no paymentMethod", { items: good.items }, "paymentMethod"],
    ["an empty token", { ...good, paymentMethod: { token: "" } }, "paymentMethod.token"],
    [
      "a NUL in a product id",
      { ...good, items: [{ productId: "prd_\u0000", quantity: 1 }] },
      "items[0].productId",
    ],
    [
      "a NUL in the token",
      { ...good, paymentMethod: { token: "tok\u0000" } },
      "paymentMethod.token",
    ],
  ])("answers 422 VALIDATION_ERROR for %s", async (_what, body, field) => {
    const reply = await post(body);
    expect(reply.status).toBe(422);
    expect(reply.body.error.code).toBe("VALIDATION_ERROR");
    expect(reply.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  it("accepts exactly 100 lines", async () => {
    const lines = Array.from({ length: 100 }, () => ({
      productId: "prd_sticky-notes",
      quantity: 1,
    }));
    await place(alice, lines, "tok_declined");
  });

  it("answers 422 for a product that does not exist, and makes no order", async () => {
    const user = await signUp(shop.url, "Unknown product");
    const reply = await request(shop.url, "/api/v1/orders", {
      token: user.token,
      headers: { "idempotency-key": randomUUID() },
      body: { ...good, items: [{ productId: "prd_no-such-thing", quantity: 1 }] },
    });
    expect(reply.status).toBe(422);
    expect(reply.body.error.code).toBe("VALIDATION_ERROR");
    const history = await request(shop.url, "/api/v1/me/orders", { token: user.token });
    expect(history.body.pagination.total).toBe(0);
  });

  it("answers 400 for malformed JSON and 415 for another content type", async () => {
    const malformed = await post("{not json");
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe("BAD_REQUEST");
    const text = await post(JSON.stringify(good), { "content-type": "text/plain" });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });
});

describe("reading orders", () => {
  let order: PlacedOrder;
  beforeAll(async () => {
    order = await place(alice, [{ productId: "prd_dune", quantity: 1 }], "tok_visa");
    await waitSettled(shop.url, alice.token, order.id);
  });

  it("shows an order only to its owner: anyone else gets 404 ORDER_NOT_FOUND", async () => {
    for (const path of [`/api/v1/orders/${order.id}`, `/api/v1/orders/${order.id}/payments`]) {
      const reply = await request(shop.url, path, { token: bob.token });
      expect(reply.status).toBe(404);
      expect(reply.body.error.code).toBe("ORDER_NOT_FOUND");
      const unknown = await request(shop.url, path.replace(order.id, "ord_nope"), {
        token: alice.token,
      });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe("ORDER_NOT_FOUND");
      // The two 404s are indistinguishable, so existence does not leak.
      expect(Object.keys(reply.body.error).sort()).toEqual(Object.keys(unknown.body.error).sort());
      expect(reply.body.error.message).toBe(unknown.body.error.message);
      expect((await request(shop.url, path)).status).toBe(401);
      // An id orders.proto refuses names no order either: 404, never 422 or 500.
      for (const bad of ["ord%00", "o".repeat(256)]) {
        const refused = await request(shop.url, path.replace(order.id, bad), {
          token: alice.token,
        });
        expect(refused.status).toBe(404);
        expect(refused.body.error.code).toBe("ORDER_NOT_FOUND");
      }
    }
  });

  it("lists an order's payments with their status and amount", async () => {
    const view = await getOrder(shop.url, alice.token, order.id);
    const reply = await request(shop.url, `/api/v1/orders/${order.id}/payments`, {
      token: alice.token,
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      data: [
        { chargeId: view.payment!.chargeId, status: "SUCCEEDED", amountCents: view.totalCents },
      ],
    });
  });
});

describe("GET /api/v1/me/orders (the read model)", () => {
  it("lists the user's orders newest first, settled within 2 s of settling", async () => {
    const user = await signUp(shop.url, "History");
    const mine: PlacedOrder[] = [];
    for (const token of ["tok_visa", "tok_declined", "tok_visa"]) {
      mine.push(await place(user, [{ productId: "prd_desk-lamp", quantity: 2 }], token));
    }
    const settled: OrderView[] = [];
    for (const o of mine) settled.push(await waitSettled(shop.url, user.token, o.id));
    // API.md: eventually consistent, reflecting a settled order within 2 s.
    const page = await pollUntil(
      () => request(shop.url, "/api/v1/me/orders", { token: user.token }),
      (reply) =>
        reply.body.data.every((o: { status: string }) => o.status !== "PENDING") &&
        reply.body.data.length === 3
          ? reply
          : undefined,
      { timeoutMs: 2_000, intervalMs: 50, what: "history reflects the settled orders" },
    );
    expect(page.status).toBe(200);
    expect(page.body.data).toEqual(
      [...settled].reverse().map((o) => ({
        id: o.id,
        status: o.status,
        totalCents: o.totalCents,
        itemCount: 2,
        createdAt: o.createdAt,
      })),
    );
    expect(page.body.pagination).toEqual({ page: 1, limit: 20, total: 3, totalPages: 1 });
    expect(page.body._links.next).toBeNull();
    expect(page.body._links.prev).toBeNull();

    const first = await request(shop.url, "/api/v1/me/orders?page=1&limit=2", {
      token: user.token,
    });
    expect(first.body.data.map((o: { id: string }) => o.id)).toEqual([mine[2]!.id, mine[1]!.id]);
    expect(first.body.pagination).toEqual({ page: 1, limit: 2, total: 3, totalPages: 2 });
    expect(first.body._links.next).toContain("page=2");
    const second = await request(shop.url, first.body._links.next, { token: user.token });
    expect(second.body.data.map((o: { id: string }) => o.id)).toEqual([mine[0]!.id]);
    expect(second.body._links.next).toBeNull();
  });

  it.each(["limit=0", "limit=-1", "limit=x", "page=0"])("answers 422 for %s", async (query) => {
    const reply = await request(shop.url, `/api/v1/me/orders?${query}`, { token: alice.token });
    expect(reply.status).toBe(422);
    expect(reply.body.error.code).toBe("VALIDATION_ERROR");
  });

  it("clamps a large limit to 100 and needs a token", async () => {
    const reply = await request(shop.url, "/api/v1/me/orders?limit=1000", { token: alice.token });
    expect(reply.body.pagination.limit).toBe(100);
    expect((await request(shop.url, "/api/v1/me/orders")).status).toBe(401);
  });
});

describe("GET /api/v1/me/notifications", () => {
  type Notification = { id: string; type: string; orderId: string; createdAt: string };
  const path = "/api/v1/me/notifications";
  let user: User;
  /** The user's settled orders, oldest first: confirmed, cancelled, confirmed. */
  const settled: OrderView[] = [];

  beforeAll(async () => {
    user = await signUp(shop.url, "Notified");
    for (const token of ["tok_visa", "tok_declined", "tok_visa"]) {
      const order = await place(user, [{ productId: "prd_dune", quantity: 1 }], token);
      settled.push(await waitSettled(shop.url, user.token, order.id));
    }
    await pollUntil(
      () => request(shop.url, path, { token: user.token }),
      (reply) => (reply.body.pagination?.total === 3 ? reply : undefined),
      { timeoutMs: 5_000, what: "three notifications" },
    );
  }, 60_000);

  it("notifies each settled order exactly once, newest first, in the list envelope", async () => {
    const reply = await request(shop.url, path, { token: user.token });
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body)).toEqual(["data", "pagination", "_links"]);
    expect(reply.body.pagination).toEqual({ page: 1, limit: 20, total: 3, totalPages: 1 });
    expect(reply.body._links).toEqual({
      self: `${path}?page=1&limit=20`,
      next: null,
      prev: null,
    });
    const list = reply.body.data as Notification[];
    expect(list.map((n) => [n.orderId, n.type])).toEqual(
      [...settled].reverse().map((o) => [o.id, `order.${o.status.toLowerCase()}`]),
    );
    expect(settled.map((o) => o.status)).toEqual(["CONFIRMED", "CANCELLED", "CONFIRMED"]);
    for (const n of list) {
      expect(n).toEqual({
        id: expect.any(String),
        type: n.type,
        orderId: n.orderId,
        createdAt: expect.any(String),
      });
    }
    const times = list.map((n) => Date.parse(n.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it("pages with limit, linking next and prev, null at the ends", async () => {
    const first = await request(shop.url, `${path}?page=1&limit=2`, { token: user.token });
    expect(first.status).toBe(200);
    expect(first.body.data.map((n: Notification) => n.orderId)).toEqual([
      settled[2]!.id,
      settled[1]!.id,
    ]);
    expect(first.body.pagination).toEqual({ page: 1, limit: 2, total: 3, totalPages: 2 });
    expect(first.body._links.prev).toBeNull();
    expect(first.body._links.next).toBe(`${path}?page=2&limit=2`);

    const second = await request(shop.url, first.body._links.next, { token: user.token });
    expect(second.status).toBe(200);
    expect(second.body.data.map((n: Notification) => n.orderId)).toEqual([settled[0]!.id]);
    expect(second.body.pagination).toEqual({ page: 2, limit: 2, total: 3, totalPages: 2 });
    expect(second.body._links.next).toBeNull();
    expect(second.body._links.prev).toBe(`${path}?page=1&limit=2`);
  });

  it("clamps a limit over 100 to 100", async () => {
    const reply = await request(shop.url, `${path}?limit=1000`, { token: user.token });
    expect(reply.status).toBe(200);
    expect(reply.body.pagination).toEqual({ page: 1, limit: 100, total: 3, totalPages: 1 });
    expect(reply.body.data).toHaveLength(3);
  });

  it("shows nobody else's notifications", async () => {
    const others = await request(shop.url, `${path}?limit=100`, { token: bob.token });
    expect(others.status).toBe(200);
    const otherIds = others.body.data.map((n: Notification) => n.orderId);
    for (const o of settled) expect(otherIds).not.toContain(o.id);
    expect(others.body.pagination.total).toBe(otherIds.length);
    const fresh = await signUp(shop.url, "Unnotified");
    const none = await request(shop.url, path, { token: fresh.token });
    expect(none.body).toEqual({
      data: [],
      pagination: { page: 1, limit: 20, total: 0, totalPages: 0 },
      _links: { self: `${path}?page=1&limit=20`, next: null, prev: null },
    });
  });

  it.each(["limit=0", "limit=-1", "limit=abc", "page=0"])("answers 422 for %s", async (query) => {
    const reply = await request(shop.url, `${path}?${query}`, { token: user.token });
    expect(reply.status).toBe(422);
    expect(reply.body.error.code).toBe("VALIDATION_ERROR");
  });

  it("needs a token", async () => {
    expect((await request(shop.url, path)).status).toBe(401);
  });
});

describe("GET /api/v1/me/overview", () => {
  it("composes the user, recent orders and notifications", async () => {
    const user = await signUp(shop.url, "Overview");
    const order = await place(user, [{ productId: "prd_dune", quantity: 1 }], "tok_visa");
    await waitSettled(shop.url, user.token, order.id);
    const reply = await pollUntil(
      () => request(shop.url, "/api/v1/me/overview", { token: user.token }),
      (r) =>
        r.body.data.notifications?.length === 1 &&
        r.body.data.recentOrders?.[0]?.status !== "PENDING"
          ? r
          : undefined,
      { timeoutMs: 5_000, what: "overview with the settled order" },
    );
    expect(reply.status).toBe(200);
    expect(reply.headers.get("cache-control")).toBe("no-store");
    const self = await request(shop.url, `/api/v1/users/${user.id}`, { token: user.token });
    const history = await request(shop.url, "/api/v1/me/orders", { token: user.token });
    const notifications = await request(shop.url, "/api/v1/me/notifications", {
      token: user.token,
    });
    expect(reply.body).toEqual({
      data: {
        user: self.body.data,
        recentOrders: history.body.data,
        notifications: notifications.body.data,
      },
      meta: { degraded: [] },
    });
  });

  it("needs a token", async () => {
    const reply = await request(shop.url, "/api/v1/me/overview");
    expect(reply.status).toBe(401);
  });
});

describe("the invariant, at a quiet moment", () => {
  it("holds for stock, charges and statuses over every order placed here", async () => {
    for (const o of placed) await waitSettled(shop.url, o.token, o.id);
    expect(await invariantViolations(shop.url, seeded, placed)).toEqual([]);
  });
});
