import { create } from "@bufbuild/protobuf";
import { Code, type CloudEvent, type EventConsumer, type HandlerContext } from "@plexus/core";
import {
  createConsumerRuntime,
  createEvent,
  createMemoryBroker,
  type ConsumerRuntime,
  type MemoryBroker,
} from "@plexus/messaging";
import { openStorage, type Storage } from "@plexus/storage";
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
import { notificationsService } from "./service.ts";
import { errorOf } from "../test-errors.ts";

type Instance = Awaited<ReturnType<typeof notificationsService.create>>;

const ctx: HandlerContext = {
  context: { correlationId: "test-correlation", requestId: "test-request" },
  header: new Headers(),
  signal: new AbortController().signal,
};

let storage: Storage;
let schemaCounter = 0;
let instance: Instance;
let broker: MemoryBroker;
let runtime: ConsumerRuntime;

beforeAll(async () => {
  storage = await openStorage({});
});
afterAll(async () => {
  await storage.close();
});

/** A fresh schema per test, a real broker and the real consumer runtime (inbox, redelivery). */
async function start(wrap: (consumer: EventConsumer) => EventConsumer = (c) => c) {
  schemaCounter += 1;
  const db = await storage.forService(
    `notifications_t${schemaCounter}`,
    notificationsService.migrations,
  );
  instance = await notificationsService.create(
    createServiceTestEnv({ name: notificationsService.name, db }),
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
  await start();
});
afterEach(async () => {
  await runtime.close();
  await broker.close();
});

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

async function list(userId: string, limit = 0) {
  const request = create(ListNotificationsRequestSchema, { userId, limit });
  const response = await instance.handlers.listNotifications(request, ctx);
  return create(ListNotificationsResponseSchema, response).notifications;
}

describe("order outcomes become notifications", () => {
  it("makes one order.confirmed and one order.cancelled notification", async () => {
    await broker.publish(confirmed("ord_1", "usr_a"));
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
    const db = await storage.forService(
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

describe("ListNotifications", () => {
  it("lists a user's notifications newest first, only theirs, up to the limit", async () => {
    for (let i = 1; i <= 5; i++) await broker.publish(confirmed(`ord_${i}`, "usr_a"));
    await broker.publish(confirmed("ord_other", "usr_b"));
    const all = await list("usr_a");
    expect(all.map((n) => n.orderId)).toEqual(["ord_5", "ord_4", "ord_3", "ord_2", "ord_1"]);
    expect((await list("usr_a", 2)).map((n) => n.orderId)).toEqual(["ord_5", "ord_4"]);
    expect((await list("usr_b")).map((n) => n.orderId)).toEqual(["ord_other"]);
    expect(await list("usr_nobody")).toEqual([]);
  });

  it.each([
    ["", 10, "user_id"],
    ["usr_a", -1, "limit"],
    ["usr_a", 101, "limit"],
  ])("refuses user %j with limit %d (%s)", async (userId, limit, field) => {
    const error = await errorOf(list(userId, limit));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.reason).toBe("VALIDATION_ERROR");
    expect(error.details.map((d) => d.field)).toEqual([field]);
  });
});
