import { Code, currentContext, parseTraceparent, type CloudEvent, type Db } from "@plexus/core";
import {
  createConsumerRuntime,
  createEvent,
  createMemoryBroker,
  createOutbox,
  decodeEventData,
  type Consumer,
  type ConsumerRuntime,
  type DeadLetterReport,
  type MemoryBroker,
} from "@plexus/messaging";
import { createFakeClock } from "@plexus/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, type OpenedStorage } from "./backends.ts";
import {
  deferred,
  driveUntilSettled,
  eventually,
  recordDeliveries,
  tick,
  type RecordedDelivery,
} from "./helpers.ts";
import { OrderPlacedSchema, OrderShippedSchema } from "./test-events.ts";

function orderEvent(orderId: string): CloudEvent {
  return createEvent(
    OrderPlacedSchema,
    { orderId, totalCents: 100n },
    {
      source: "/orders",
      subject: orderId,
    },
  );
}

async function effectsTable(db: Db): Promise<void> {
  await db.query(
    "CREATE TABLE IF NOT EXISTS effects (group_name text NOT NULL, event_id text NOT NULL, worker text)",
  );
}

async function effects(
  db: Db,
): Promise<{ group_name: string; event_id: string; worker: string }[]> {
  const { rows } = await db.query<{ group_name: string; event_id: string; worker: string }>(
    "SELECT group_name, event_id, worker FROM effects ORDER BY event_id, group_name",
  );
  return rows;
}

/** A consumer that inserts one effect row per processed event. */
function recordingConsumer(name: string, worker: string, extra: Partial<Consumer> = {}): Consumer {
  return {
    name,
    types: ["test.orders.v1.*"],
    handle: async (event, tx, delivery) => {
      await tx.query("INSERT INTO effects (group_name, event_id, worker) VALUES ($1, $2, $3)", [
        delivery.group,
        event.id,
        worker,
      ]);
    },
    ...extra,
  };
}

const all = await backends();

describe.each(all)("consumer runtime on $kind", (backend) => {
  const suite = backend.available ? describe : describe.skip;
  suite("runtime", () => {
    let opened: OpenedStorage;
    beforeAll(async () => {
      opened = await backend.open();
    });
    afterAll(async () => {
      await opened?.close();
    });

    /** A fresh service schema (with the effects table unless told not to) and a memory broker. */
    async function freshService(
      schema: string,
      withEffects = true,
    ): Promise<{ db: Db; broker: MemoryBroker }> {
      const db = await opened.service(schema);
      if (withEffects) await effectsTable(db);
      return { db, broker: createMemoryBroker() };
    }

    /** Creates and starts `service`'s consumer runtime. */
    async function startRuntime(
      service: string,
      db: Db,
      broker: MemoryBroker,
      consumers: Consumer[],
    ): Promise<ConsumerRuntime> {
      const runtime = createConsumerRuntime({ service, db, broker, consumers });
      await runtime.start();
      return runtime;
    }

    it("retries, dead-letters, lists, replays, and processes once", async () => {
      const db = await opened.service("consumer_dlq");
      await effectsTable(db);
      const clock = createFakeClock(Date.parse("2026-05-01T00:00:00Z"));
      const broker = createMemoryBroker({ clock, random: () => 0.5 });
      let failing = true;
      const deliveries: RecordedDelivery[] = [];
      const parked: DeadLetterReport[] = [];
      const runtime = createConsumerRuntime({
        service: "billing",
        db,
        broker,
        clock,
        interceptors: [recordDeliveries(deliveries)],
        onDeadLetter: (r) => parked.push(r),
        consumers: [
          {
            name: "charge",
            types: ["test.orders.v1.OrderPlaced"],
            maxDeliveries: 3,
            backoff: { initialMs: 1_000 },
            handle: async (event, tx, delivery) => {
              await tx.query("INSERT INTO effects (group_name, event_id) VALUES ($1, $2)", [
                delivery.group,
                event.id,
              ]);
              if (failing) throw new Error(`card processor down (attempt ${delivery.attempt})`);
            },
          },
        ],
      });
      await runtime.start();
      const event = orderEvent("o-1");
      const publishing = broker.publish(event);
      await eventually(() => deliveries.length === 1); // the first failure, at the start time
      await driveUntilSettled(clock, publishing);

      expect(deliveries.map((d) => [d.attempt, d.outcome])).toEqual([
        [1, "failed"],
        [2, "failed"],
        [3, "failed"],
      ]);
      expect(await effects(db)).toEqual([]); // every failed attempt rolled back
      expect(parked).toEqual([
        {
          group: "billing.charge",
          eventId: event.id,
          eventType: "test.orders.v1.OrderPlaced",
          reason: "card processor down (attempt 3)",
          attempts: 3,
        },
      ]);
      const [letter, ...rest] = await runtime.deadLetters.list();
      expect(rest).toEqual([]);
      expect(letter).toMatchObject({
        group: "billing.charge",
        eventId: event.id,
        eventType: "test.orders.v1.OrderPlaced",
        event,
        error: "card processor down (attempt 3)",
        attempts: 3,
      });
      expect(letter!.firstFailedAt.getTime()).toBe(Date.parse("2026-05-01T00:00:00Z"));
      expect(letter!.lastFailedAt.getTime()).toBeGreaterThan(letter!.firstFailedAt.getTime());
      expect(await runtime.deadLetters.count()).toBe(1);
      expect(await runtime.deadLetters.count("other.group")).toBe(0);

      // A replay that fails again keeps the entry, with one more attempt.
      await expect(runtime.deadLetters.replay(letter!.id)).rejects.toThrow(/attempt 4/);
      expect(await runtime.deadLetters.get(letter!.id)).toMatchObject({
        attempts: 4,
        error: "card processor down (attempt 4)",
      });

      failing = false;
      expect(await runtime.deadLetters.replay(letter!.id)).toEqual({ outcome: "processed" });
      expect(await runtime.deadLetters.list()).toEqual([]);
      expect(await effects(db)).toEqual([
        { group_name: "billing.charge", event_id: event.id, worker: null },
      ]);
      await expect(runtime.deadLetters.replay(letter!.id)).rejects.toMatchObject({
        code: Code.NotFound,
      });

      // The relay publishing it again (a crash before marking it sent) has no second effect.
      await driveUntilSettled(clock, broker.publish(event));
      expect(await effects(db)).toHaveLength(1);
      expect(deliveries.at(-1)?.outcome).toBe("duplicate");
      await runtime.close();
      await broker.close();
    });

    it("dead-letters malformed envelopes; they cannot be replayed, only discarded", async () => {
      const { db, broker } = await freshService("consumer_bad");
      const runtime = await startRuntime("billing", db, broker, [recordingConsumer("charge", "w")]);
      await broker.publishRaw("test.orders.v1.OrderPlaced", '{"specversion":"1.0","id":"x"}');
      await broker.publishRaw("test.orders.v1.OrderPlaced", "\u0000garbage");
      const letters = await runtime.deadLetters.list({ group: "billing.charge" });
      expect(letters.map((l) => [l.raw, l.attempts, l.event, l.eventId])).toEqual([
        ['{"specversion":"1.0","id":"x"}', 0, undefined, undefined],
        ["\u0000garbage", 0, undefined, undefined],
      ]);
      expect(letters[0]?.error).toMatch(/^malformed envelope: source is missing/);
      await expect(runtime.deadLetters.replay(letters[0]!.id)).rejects.toMatchObject({
        code: Code.FailedPrecondition,
      });
      expect(await runtime.deadLetters.discard(letters[0]!.id)).toBe(true);
      expect(await runtime.deadLetters.discard(letters[0]!.id)).toBe(false);
      expect(await runtime.deadLetters.count()).toBe(1);
      // Keyset pagination.
      expect(await runtime.deadLetters.list({ afterId: letters[1]!.id })).toEqual([]);
      expect(await effects(db)).toEqual([]);
      // An id that cannot be one (from the admin API's path) is the caller's error, not a 500.
      for (const bad of [" ", "x", "\u0000", "-1", "99999999999999999999", "9999999999999999999"]) {
        await expect(runtime.deadLetters.replay(bad)).rejects.toMatchObject({
          code: Code.InvalidArgument,
        });
        await expect(runtime.deadLetters.discard(bad)).rejects.toMatchObject({
          code: Code.InvalidArgument,
        });
        await expect(runtime.deadLetters.list({ afterId: bad })).rejects.toMatchObject({
          code: Code.InvalidArgument,
        });
      }
      await runtime.close();
      await broker.close();
    });

    it("restores the publisher's context around the handler", async () => {
      const { db, broker } = await freshService("consumer_ctx", false);
      const seen: { correlationId?: string; traceId?: string; caller?: string }[] = [];
      const runtime = await startRuntime("audit", db, broker, [
        {
          name: "log",
          types: ["*"],
          handle: async () => {
            const ctx = currentContext();
            seen.push({
              correlationId: ctx?.correlationId,
              traceId: ctx?.trace?.traceId,
              caller: ctx?.caller,
            });
          },
        },
      ]);
      const event = orderEvent("o-ctx");
      await broker.publish(event);
      expect(seen).toEqual([
        {
          correlationId: event.correlationid,
          traceId: parseTraceparent(event.traceparent)?.traceId,
          caller: "orders",
        },
      ]);
      await runtime.close();
      await broker.close();
    });

    it("shares a group's work between replicas; every group gets every event", async () => {
      const { db, broker } = await freshService("consumer_groups");
      // Two replicas of the notifications service (same group), and one other service.
      const replicas = ["r1", "r2"].map((worker) =>
        createConsumerRuntime({
          service: "notifications",
          db,
          broker,
          consumers: [recordingConsumer("orders", worker, { concurrency: 1 })],
        }),
      );
      const analytics = createConsumerRuntime({
        service: "analytics",
        db,
        broker,
        consumers: [recordingConsumer("orders", "a")],
      });
      for (const r of [...replicas, analytics]) await r.start();
      const events = Array.from({ length: 8 }, (_, i) => orderEvent(`o-${i}`));
      await Promise.all(events.map((e) => broker.publish(e)));

      const rows = await effects(db);
      const ids = events.map((e) => e.id).sort();
      const notified = rows.filter((r) => r.group_name === "notifications.orders");
      const counted = rows.filter((r) => r.group_name === "analytics.orders");
      expect(notified.map((r) => r.event_id).sort()).toEqual(ids); // once each within the group
      expect(new Set(notified.map((r) => r.worker))).toEqual(new Set(["r1", "r2"])); // shared
      expect(counted.map((r) => r.event_id).sort()).toEqual(ids); // the other group got all
      for (const r of [...replicas, analytics]) await r.close();
      await broker.close();
    });

    it("closes gracefully: handlers in flight finish and commit", async () => {
      const { db, broker } = await freshService("consumer_close");
      const gate = deferred();
      let started = 0;
      const runtime = await startRuntime("billing", db, broker, [
        {
          name: "slow",
          types: ["*"],
          handle: async (event, tx) => {
            started += 1;
            await gate.promise;
            await tx.query("INSERT INTO effects (group_name, event_id) VALUES ('slow', $1)", [
              event.id,
            ]);
          },
        },
      ]);
      const event = orderEvent("o-slow");
      const publishing = broker.publish(event);
      await eventually(() => started === 1);
      let closed = false;
      const closing = runtime.close().then(() => (closed = true));
      await tick();
      expect(closed).toBe(false);
      gate.resolve();
      await closing;
      await publishing;
      expect((await effects(db)).map((r) => r.event_id)).toEqual([event.id]);
    });

    it("removes a stale dead letter when the event is later processed", async () => {
      const { db, broker } = await freshService("consumer_stale");
      let failing = true;
      const runtime = await startRuntime("billing", db, broker, [
        recordingConsumer("charge", "w", {
          maxDeliveries: 1,
          handle: async (event, tx, d) => {
            if (failing) throw new Error("down");
            await tx.query("INSERT INTO effects (group_name, event_id) VALUES ($1, $2)", [
              d.group,
              event.id,
            ]);
          },
        }),
      ]);
      const event = orderEvent("o-stale");
      await broker.publish(event);
      expect(await runtime.deadLetters.count()).toBe(1);
      failing = false;
      await broker.publish(event); // republished after a crash, say
      expect(await runtime.deadLetters.count()).toBe(0);
      expect(await effects(db)).toHaveLength(1);
      await runtime.close();
      await broker.close();
    });

    it("chains: a handler's own outbox event commits with its effect and is relayed once", async () => {
      const { db, broker } = await freshService("consumer_chain");
      const outbox = createOutbox({ db, broker });
      const shipped: string[] = [];
      const runtime = await startRuntime("shipping", db, broker, [
        {
          name: "placed",
          types: ["test.orders.v1.OrderPlaced"],
          handle: async (event, tx, d) => {
            await tx.query("INSERT INTO effects (group_name, event_id) VALUES ($1, $2)", [
              d.group,
              event.id,
            ]);
            // Deterministic id: a redelivery that got past the inbox could not add it twice.
            await outbox.add(
              tx,
              createEvent(
                OrderShippedSchema,
                { orderId: event.subject ?? "" },
                {
                  source: "/shipping",
                  subject: event.subject ?? "",
                  id: `shipped-${event.id}`,
                },
              ),
            );
          },
        },
        {
          name: "shipped",
          types: ["test.orders.v1.OrderShipped"],
          handle: async (event) => void shipped.push(event.id),
        },
      ]);
      await outbox.start();
      const placed = orderEvent("o-chain");
      await broker.publish(placed);
      await broker.publish(placed); // a duplicate delivery: no second effect, no second event
      await outbox.flush();
      expect(shipped).toEqual([`shipped-${placed.id}`]);
      expect(await effects(db)).toHaveLength(1);
      await outbox.close();
      await runtime.close();
      await broker.close();
    });

    it("dead-letters an event its handler cannot decode at once, without retries", async () => {
      const { db, broker } = await freshService("consumer_poison", false);
      const attempts: number[] = [];
      const runtime = await startRuntime("shipping", db, broker, [
        {
          name: "placed",
          types: ["*"],
          maxDeliveries: 5,
          handle: async (event, _tx, d) => {
            attempts.push(d.attempt);
            decodeEventData(OrderShippedSchema, event); // an OrderPlaced: InvalidArgument
          },
        },
      ]);
      await broker.publish(orderEvent("o-poison"));
      expect(attempts).toEqual([1]);
      const [letter] = await runtime.deadLetters.list();
      expect(letter).toMatchObject({ attempts: 1, group: "shipping.placed" });
      expect(letter?.error).toMatch(/not a test.orders.v1.OrderShipped/);
      await runtime.close();
      await broker.close();
    });

    it("refuses bad consumer definitions", () => {
      const base = { service: "s", db: undefined as unknown as Db, broker: createMemoryBroker() };
      expect(() =>
        createConsumerRuntime({ ...base, consumers: [recordingConsumer("Bad Name", "w")] }),
      ).toThrow(/invalid consumer name/);
      expect(() =>
        createConsumerRuntime({
          ...base,
          consumers: [recordingConsumer("a", "w"), recordingConsumer("b", "w", { group: "s.a" })],
        }),
      ).toThrow(/share group/);
      expect(() =>
        createConsumerRuntime({ ...base, consumers: [recordingConsumer("a", "w", { types: [] })] }),
      ).toThrow(/at least one/);
    });
  });
});
