import { randomUUID } from "node:crypto";
import { openStorage } from "@plexus/storage";
import { createFakeClock, createStatementCounter } from "@plexus/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { removeDataDir, settledOrder, startTestShop, type TestShop } from "./test-shop.ts";

/*
 * What one confirmed order costs the database, counted at the storage port for every service of
 * the monolith (orders, catalog, payments, their outboxes, inboxes and consumers). On PGlite the
 * time of an order is nearly all spent per statement, so this number is the lever on its latency:
 * it is pinned here so that it cannot creep back up.
 *
 * The clock is a fake one that never moves, so no poll timer fires and only the order's own work
 * is counted; the order is counted until nothing has run a statement for a while (the relays and
 * consumers are done), and its outcome is checked after the counts are taken. The order history
 * is part of that work: its projection is woken by the commits that append to the order log.
 */

/**
 * Measured after issue 9 item 6 (before it: 58 statements, 33 transactions; 50 before the inbox
 * record took over clearing a stale dead letter). Unchanged by item 5's projections: the order
 * history, once a broker consumer (an inbox record and the upsert per event), is now a projection
 * woken by each commit to the order log (a statement that reads the batch and moves the
 * checkpoint, and the upsert): 4 statements in 2 transactions either way.
 */
const maxStatements = 48;
const maxTransactions = 25;

const counter = createStatementCounter();
let shop: TestShop;

beforeAll(async () => {
  shop = await startTestShop({
    clock: createFakeClock(Date.parse("2026-01-01T00:00:00Z")),
    openStorage: async (options) => counter.wrap(await openStorage(options)),
  });
  // A first order warms every path up (tables created, leases taken) before the counted one.
  await placeAndCount();
}, 120_000);

afterAll(async () => {
  await shop?.close();
  if (shop) await removeDataDir(shop.dataDir);
});

/** Places one tok_visa order and returns what it cost, once the services have gone quiet. */
async function placeAndCount() {
  counter.reset();
  const userId = `usr_${randomUUID()}`;
  const { orderId } = await shop.orders.placeOrder({
    userId,
    idempotencyKey: randomUUID(),
    items: [{ productId: "prd_dune", quantity: 1 }],
    paymentToken: "tok_visa",
  });
  await quiet();
  const perService = Object.fromEntries(
    [...counter.counts()].map(([service, count]) => [service, { ...count }]),
  );
  const total = counter.total();
  const order = await settledOrder(shop, orderId, userId);
  return { order, total, perService };
}

/** Resolves once no statement ran for 300 ms of real time (bounded: 20 s). */
async function quiet(): Promise<void> {
  const until = Date.now() + 20_000;
  let last = -1;
  let stableSince = Date.now();
  while (Date.now() < until) {
    const now = counter.total().statements;
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= 300) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("the services kept running statements for 20 s");
}

it("a confirmed tok_visa order costs at most the pinned number of statements and transactions", async () => {
  const { order, total, perService } = await placeAndCount();
  expect(order.status).toBe("CONFIRMED");
  // Every service of the order was counted (a counter that saw nothing would pass the bounds).
  expect(Object.keys(perService).sort()).toEqual(["catalog", "orders", "payments"]);
  expect(total.statements).toBeGreaterThan(total.transactions);
  const breakdown = JSON.stringify(perService);
  expect(total.statements, `statements per service: ${breakdown}`).toBeLessThanOrEqual(
    maxStatements,
  );
  expect(total.transactions, `transactions per service: ${breakdown}`).toBeLessThanOrEqual(
    maxTransactions,
  );
  console.log(`one order: ${JSON.stringify(total)} ${breakdown}`);
});
