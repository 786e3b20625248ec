import { create } from "@bufbuild/protobuf";
import { Code, type CloudEvent, type EventConsumer, type HandlerContext } from "@plexus/core";
import { validatedHandlers } from "@plexus/rpc";
import {
  createConsumerRuntime,
  createEvent,
  createMemoryBroker,
  type ConsumerRuntime,
  type MemoryBroker,
} from "@plexus/messaging";
import { createFakeClock, type FakeClock } from "@plexus/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ListNotificationsRequestSchema,
  ListNotificationsResponseSchema,
} from "../../gen/shop/notifications/v1/notifications_pb.js";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
} from "../../gen/shop/orders/v1/orders_pb.js";
import { createServiceTestEnv } from "../service-test-env.ts";
import { errorOf } from "../test-errors.ts";
import {
  openServiceTestStorage,
  storageBackends,
  type ServiceTestStorage,
} from "../test-storage.ts";
import { notificationsService } from "./service.ts";

type Instance = Awaited<ReturnType<typeof notificationsService.create>>;

const ctx: HandlerContext = {
  context: { correlationId: "test-correlation", requestId: "test-request" },
  header: new Headers(),
  signal: new AbortController().signal,
};

function confirmed(orderId: string, userId: string, id?: string): CloudEvent {
  return createEvent(
    OrderConfirmedSchema,
    { orderId, userId, totalCents: 1299n, confirmedAt: new Date().toISOString() },
    { source: "/orders", subject: orderId, ...(id ? { id } : {}) },
  );
}

function cancelled(orderId: string, userId: string, id?: string): CloudEvent {
  return createEvent(
    OrderCancelledSchema,
    { orderId, userId, failureReason: "PAYMENT_DECLINED", cancelledAt: new Date().toISOString() },
    { source: "/orders", subject: orderId, ...(id ? { id } : {}) },
  );
}

// PGlite always; Postgres (real concurrency: concurrent duplicate deliveries racing on the inbox
// and the unique index) when it runs.
const backends = await storageBackends();

describe.each(backends)("notifications on $kind", ({ kind, available }) => {
  let opened: ServiceTestStorage | undefined;
  let schemaCounter = 0;
  let clock: FakeClock;
  let instance: Instance;
  let broker: MemoryBroker;
  let runtime: ConsumerRuntime;

  beforeAll(async () => {
    if (!available) return;
    opened = await openServiceTestStorage(kind, "plexus_notifications", notificationsService);
  });
  afterAll(async () => {
    await opened?.close();
  });

  /** A fresh schema per test, a real broker and the real consumer runtime (inbox, redelivery). */
  async function start(wrap: (consumer: EventConsumer) => EventConsumer = (c) => c) {
    schemaCounter += 1;
    const db = await opened!.storage.forService(
      `notifications_t${schemaCounter}`,
      notificationsService.migrations,
    );
    clock = createFakeClock(Date.parse("2030-01-01T00:00:00.000Z"));
    instance = await notificationsService.create(
      createServiceTestEnv({ name: notificationsService.name, db, clock }),
    );
    broker = createMemoryBroker({ random: () => 0 });
    runtime = createConsumerRuntime({
      service: notificationsService.name,
      db,
      broker,
      consumers: (instance.consumers ?? []).map(wrap),
    });
    await runtime.start();
    return db;
  }

  beforeEach(async () => {
    if (available) await start();
  });
  afterEach(async () => {
    await runtime?.close();
    await broker?.close();
  });

  /** The handlers behind the RPC boundary's request validation, as a server runs them. */
  const served = () => validatedHandlers(notificationsService.contract, instance.handlers);

  async function listPage(userId: string, page = 0, limit = 0) {
    const request = create(ListNotificationsRequestSchema, { userId, page, limit });
    const response = await served().listNotifications(request, ctx);
    return create(ListNotificationsResponseSchema, response);
  }

  /** What a caller from before paging asks for: no page, the newest `limit`. */
  async function list(userId: string, limit = 0) {
    const request = create(ListNotificationsRequestSchema, { userId, limit });
    const response = await served().listNotifications(request, ctx);
    return create(ListNotificationsResponseSchema, response).notifications;
  }

  describe.skipIf(!available)("order outcomes become notifications", () => {
    it("makes one order.confirmed and one order.cancelled notification", async () => {
      await broker.publish(confirmed("ord_1", "usr_a"));
      clock.advance(1);
      await broker.publish(cancelled("ord_2", "usr_a"));
      const notifications = await list("usr_a");
      expect(notifications.map((n) => [n.type, n.orderId])).toEqual([
        ["order.cancelled", "ord_2"],
        ["order.confirmed", "ord_1"],
      ]);
      for (const n of notifications) {
        expect(n.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(new Date(n.createdAt).toISOString()).toBe(n.createdAt);
      }
      expect(notifications[0]!.createdAt).toBe("2030-01-01T00:00:00.001Z");
    });

    it("makes exactly one notification when the same event is delivered again and again", async () => {
      const event = confirmed("ord_1", "usr_a");
      await broker.publish(event);
      await broker.publish(event);
      await Promise.all([broker.publish(event), broker.publish(event), broker.publish(event)]);
      expect(await list("usr_a")).toHaveLength(1);
    });

    it("makes one notification when the same outcome comes again under a new event id", async () => {
      await broker.publish(confirmed("ord_1", "usr_a", "evt-1"));
      await broker.publish(confirmed("ord_1", "usr_a", "evt-2"));
      await Promise.all([
        broker.publish(confirmed("ord_1", "usr_a", "evt-3")),
        broker.publish(confirmed("ord_1", "usr_a", "evt-4")),
      ]);
      expect(await list("usr_a")).toHaveLength(1);
    });

    it("keeps nothing of a failed delivery, and makes the notification once on redelivery", async () => {
      let attempts = 0;
      await runtime.close();
      await broker.close();
      await start((consumer) => ({
        ...consumer,
        backoff: { initialMs: 1, maxMs: 1 },
        async handle(event, tx, delivery) {
          attempts += 1;
          await consumer.handle(event, tx, delivery);
          // The insert above happened in the inbox transaction; failing now must roll it back.
          if (delivery.attempt === 1) throw new Error("crash after the insert");
        },
      }));
      await broker.publish(confirmed("ord_1", "usr_a"));
      expect(attempts).toBe(2);
      expect(await list("usr_a")).toHaveLength(1);
    });

    it("ignores order events it does not announce", async () => {
      await broker.publish(
        createEvent(
          OrderPlacedSchema,
          { orderId: "ord_1", userId: "usr_a", totalCents: 1n, currency: "EUR" },
          { source: "/orders" },
        ),
      );
      expect(await list("usr_a")).toEqual([]);
    });

    it("refuses an event that names no user (a bug upstream: it must reach the dead letters)", async () => {
      const consumer = instance.consumers?.[0];
      expect(consumer).toBeDefined();
      const db = await opened!.storage.forService(
        `notifications_t${schemaCounter}`,
        notificationsService.migrations,
      );
      const error = await errorOf(
        db.transaction((tx) =>
          consumer!.handle(confirmed("ord_1", ""), tx, {
            group: "g",
            attempt: 1,
            maxDeliveries: 5,
            signal: new AbortController().signal,
          }),
        ),
      );
      expect(error.code).toBe(Code.InvalidArgument);
    });
  });

  describe.skipIf(!available)("ListNotifications", () => {
    it("lists a user's notifications newest first, only theirs, up to the limit", async () => {
      for (let i = 1; i <= 5; i++) await broker.publish(confirmed(`ord_${i}`, "usr_a"));
      await broker.publish(confirmed("ord_other", "usr_b"));
      // All made in the same millisecond: insertion order breaks the tie.
      const all = await list("usr_a");
      expect(all.map((n) => n.orderId)).toEqual(["ord_5", "ord_4", "ord_3", "ord_2", "ord_1"]);
      expect((await list("usr_a", 2)).map((n) => n.orderId)).toEqual(["ord_5", "ord_4"]);
      expect((await list("usr_b")).map((n) => n.orderId)).toEqual(["ord_other"]);
      expect(await list("usr_nobody")).toEqual([]);
    });

    it("pages newest first by creation time, with the user's total on every page", async () => {
      // 25 notifications a second apart, then one dated before all of them (an event consumed
      // late under a clock set back): time orders the list, not insertion.
      for (let i = 1; i <= 25; i++) {
        clock.advance(1_000);
        await broker.publish(confirmed(`ord_${i}`, "usr_a"));
      }
      clock.setNow(Date.parse("2029-12-31T00:00:00.000Z"));
      await broker.publish(cancelled("ord_old", "usr_a"));
      await broker.publish(confirmed("ord_b", "usr_b"));

      const ids = async (page: number, limit: number) => {
        const reply = await listPage("usr_a", page, limit);
        expect(reply.total).toBe(26);
        return reply.notifications.map((n) => n.orderId);
      };
      const newest = Array.from({ length: 25 }, (_, i) => `ord_${25 - i}`);
      expect(await ids(1, 10)).toEqual(newest.slice(0, 10));
      expect(await ids(2, 10)).toEqual(newest.slice(10, 20));
      expect(await ids(3, 10)).toEqual([...newest.slice(20), "ord_old"]);
      expect(await ids(4, 10)).toEqual([]);
      expect(await ids(1, 100)).toEqual([...newest, "ord_old"]);
      // No page means the first; no limit means 100.
      expect(await ids(0, 3)).toEqual(newest.slice(0, 3));
      expect(await ids(2, 0)).toEqual([]);
      const created = (await listPage("usr_a", 1, 100)).notifications.map((n) => n.createdAt);
      expect([...created].sort().reverse()).toEqual(created);

      expect(await listPage("usr_b", 1, 10)).toMatchObject({
        notifications: [{ orderId: "ord_b" }],
        total: 1,
      });
      expect(await listPage("usr_nobody", 1, 10)).toMatchObject({ notifications: [], total: 0 });
    });

    it.each([
      ["", 1, 10, ["userId"]],
      ["usr_a", 1, -1, ["limit"]],
      ["usr_a", 1, 101, ["limit"]],
      ["usr_a", -1, 10, ["page"]],
      ["", -2, 101, ["userId", "limit", "page"]],
    ])("refuses user %j, page %d, limit %d (%j)", async (userId, page, limit, fields) => {
      const error = await errorOf(listPage(userId, page, limit));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.reason).toBe("VALIDATION_ERROR");
      expect(error.details.map((d) => d.field)).toEqual(fields);
    });
  });
});
