import type { CloudEvent, Db } from "@plexus/core";
import { createMemoryBroker, createOutbox, ensureMessagingTables } from "@plexus/messaging";
import { ensureProjectionTables, readCheckpoint, rebuildProjection } from "@plexus/projections";
import { openStorage, type Storage } from "@plexus/storage";
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { OrderEventLog } from "../app/order-event-log.ts";
import { orderCancelledEvent, orderConfirmedEvent, orderPlacedEvent } from "../app/order-events.ts";
import type { Order } from "../domain/order.ts";
import { ordersMigrations } from "../migrations.ts";
import { createSqlOrderEventLog } from "./sql-order-event-log.ts";
import {
  applyOrderEvent,
  createSqlOrderHistory,
  orderHistoryProjection,
} from "./sql-order-history.ts";

let storage: Storage;
let db: Db;
let log: OrderEventLog;

beforeAll(async () => {
  storage = await openStorage({});
  db = await storage.forService("orders", ordersMigrations);
  await ensureMessagingTables(db);
  await ensureProjectionTables(db);
  log = createSqlOrderEventLog(db, createOutbox({ db, broker: createMemoryBroker() }));
}, 60_000);

afterAll(async () => {
  await storage?.close();
});

beforeEach(async () => {
  await db.query(
    "TRUNCATE order_history, order_events, plexus_projections, plexus_outbox RESTART IDENTITY",
  );
});

let seq = 0;
function order(userId = "usr_1", createdAt = "2026-01-01T00:00:00.000Z"): Order {
  seq++;
  return {
    id: `ord_00000000-0000-4000-8000-${String(seq).padStart(12, "0")}`,
    userId,
    status: "PENDING",
    lines: [
      { productId: "prd_a", quantity: 2, unitPriceCents: 100n },
      { productId: "prd_b", quantity: 1, unitPriceCents: 50n },
    ],
    totalCents: 250n,
    currency: "EUR",
    failureReason: undefined,
    payment: undefined,
    createdAt,
    updatedAt: createdAt,
  };
}

const history = () => createSqlOrderHistory(db);

async function apply(...events: CloudEvent[]): Promise<void> {
  for (const event of events) await db.transaction((tx) => applyOrderEvent(tx, event));
}

async function row(id: string) {
  const result = await db.query<{ status: string; total_cents: string; item_count: number }>(
    "SELECT status, total_cents::text AS total_cents, item_count FROM order_history WHERE id = $1",
    [id],
  );
  return result.rows[0];
}

describe("the order history projection", () => {
  it("summarises an order and follows it to its settled status", async () => {
    const o = order();
    await apply(orderPlacedEvent(o));
    expect(await history().list("usr_1", 10, 0)).toEqual({
      entries: [
        { id: o.id, status: "PENDING", totalCents: 250n, itemCount: 3, createdAt: o.createdAt },
      ],
      total: 1,
    });
    await apply(orderConfirmedEvent(o, "2026-01-01T00:00:01.000Z"));
    expect((await history().list("usr_1", 10, 0)).entries[0]?.status).toBe("CONFIRMED");
  });

  it("does not list an order whose OrderPlaced has not arrived, and completes it when it does", async () => {
    const o = order();
    await apply(orderCancelledEvent(o, "OUT_OF_STOCK", "2026-01-01T00:00:01.000Z"));
    expect(await history().list("usr_1", 10, 0)).toEqual({ entries: [], total: 0 });
    await apply(orderPlacedEvent(o));
    expect(await history().list("usr_1", 10, 0)).toEqual({
      entries: [
        { id: o.id, status: "CANCELLED", totalCents: 250n, itemCount: 3, createdAt: o.createdAt },
      ],
      total: 1,
    });
  });

  it("never moves a status backwards, whatever the order and repetition of events", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("CONFIRMED", "CANCELLED"),
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 2, maxLength: 6 }),
        async (outcome, picks) => {
          const o = order();
          const placed = orderPlacedEvent(o);
          const settled =
            outcome === "CONFIRMED"
              ? orderConfirmedEvent(o, "2026-01-01T00:00:01.000Z")
              : orderCancelledEvent(o, "PAYMENT_DECLINED", "2026-01-01T00:00:01.000Z");
          // Every event at least once, in any order, some more than once.
          await apply(
            ...[placed, settled, ...picks.map((p) => (p === 0 ? placed : settled))].reverse(),
          );
          expect(await row(o.id)).toEqual({ status: outcome, total_cents: "250", item_count: 3 });
        },
      ),
      { numRuns: 25 },
    );
  });

  it("keeps the first settled status (a later contradictory event is ignored)", async () => {
    const o = order();
    await apply(
      orderPlacedEvent(o),
      orderConfirmedEvent(o, "2026-01-01T00:00:01.000Z"),
      orderCancelledEvent(o, "PAYMENT_DECLINED", "2026-01-01T00:00:02.000Z"),
    );
    expect((await row(o.id))?.status).toBe("CONFIRMED");
  });

  it("lists newest first, paginated, per user", async () => {
    const a = order("usr_p", "2026-01-01T00:00:00.000Z");
    const b = order("usr_p", "2026-01-02T00:00:00.000Z");
    const c = order("usr_p", "2026-01-03T00:00:00.000Z");
    const other = order("usr_q", "2026-01-04T00:00:00.000Z");
    await apply(...[a, b, c, other].map(orderPlacedEvent));
    const page1 = await history().list("usr_p", 2, 0);
    expect(page1.entries.map((e) => e.id)).toEqual([c.id, b.id]);
    expect(page1.total).toBe(3);
    expect((await history().list("usr_p", 2, 2)).entries.map((e) => e.id)).toEqual([a.id]);
  });
});

describe("the order history rebuilt from the event log", () => {
  const rebuild = (options?: Parameters<typeof rebuildProjection>[2]) =>
    rebuildProjection(db, orderHistoryProjection, options);

  async function record(...events: CloudEvent[]): Promise<void> {
    for (const event of events) await db.transaction((tx) => log.record(tx, event));
  }

  async function snapshot() {
    return (
      await db.query(
        `SELECT id, user_id, status, total_cents::text, item_count, created_at
         FROM order_history ORDER BY id`,
      )
    ).rows;
  }

  async function seed(): Promise<Order[]> {
    const orders = [order("usr_r"), order("usr_r"), order("usr_s")];
    await record(
      orderPlacedEvent(orders[0]!),
      orderPlacedEvent(orders[1]!),
      orderConfirmedEvent(orders[0]!, "2026-01-01T00:00:01.000Z"),
      orderPlacedEvent(orders[2]!),
      orderCancelledEvent(orders[1]!, "OUT_OF_STOCK", "2026-01-01T00:00:02.000Z"),
    );
    return orders;
  }

  it("replays the whole log in order into an emptied read model, checkpointed", async () => {
    await seed();
    // A read model that went wrong: a stray row, a missing one.
    await db.query(
      `INSERT INTO order_history (id, user_id, status, updated_at) VALUES ('stray', 'usr_r', 'PENDING', now())`,
    );
    const report = await rebuild({ batchSize: 2 });
    expect(report).toEqual({ events: 5, position: 5, resumed: false });
    const rows = await snapshot();
    expect(rows.map((r) => [r["user_id"], r["status"]])).toEqual([
      ["usr_r", "CONFIRMED"],
      ["usr_r", "CANCELLED"],
      ["usr_s", "PENDING"],
    ]);
    expect(await readCheckpoint(db, "order_history")).toEqual({ position: 5, rebuilding: false });
    // Idempotent: a second rebuild gives the same rows.
    await rebuild();
    expect(await snapshot()).toEqual(rows);
  });

  it("continues an interrupted rebuild from its checkpoint", async () => {
    await seed();
    await rebuild();
    const complete = await snapshot();
    // Stopped after its first batch of two events.
    const stop = new AbortController();
    const stopping = {
      ...orderHistoryProjection,
      apply: async (tx: Parameters<typeof applyOrderEvent>[0], event: CloudEvent) => {
        await applyOrderEvent(tx, event);
        stop.abort();
      },
    };
    await expect(
      rebuildProjection(db, stopping, { batchSize: 2, signal: stop.signal }),
    ).rejects.toThrow();
    expect(await readCheckpoint(db, "order_history")).toEqual({ position: 2, rebuilding: true });
    const report = await rebuild({ batchSize: 1 });
    expect(report).toEqual({ events: 3, position: 5, resumed: true });
    expect(await snapshot()).toEqual(complete);
  });
});
