/**
 * Batching without a network broker: the relay's batch publish (`Broker.publishBatch`, here a
 * memory broker given one), the inbox's batch record (`handleEachOnce`) and the consumer runtime's
 * batch handler, on every storage backend.
 */
import type { Broker, BrokerSubscription, CloudEvent, Db, Sql } from "@plexus/core";
import {
  createConsumerRuntime,
  createEvent,
  createMemoryBroker,
  createOutbox,
  type DeliveryInterceptor,
} from "@plexus/messaging";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleEachOnce } from "../src/inbox.ts";
import { backends, type OpenedStorage } from "./backends.ts";
import { OrderPlacedSchema } from "./test-events.ts";

function orderEvent(subject: string, seq: number): CloudEvent {
  return createEvent(
    OrderPlacedSchema,
    { orderId: subject, totalCents: BigInt(seq) },
    { source: "/orders", subject },
  );
}

/** A memory broker with a batch publish that records each batch and can be made to fail. */
function batchingBroker() {
  const broker = createMemoryBroker();
  const batches: CloudEvent[][] = [];
  const single: CloudEvent[] = [];
  let failures = 0;
  const batching: Broker = {
    kind: broker.kind,
    subscribe: (s) => broker.subscribe(s),
    close: () => broker.close(),
    [Symbol.asyncDispose]: () => broker.close(),
    async publish(event, options) {
      single.push(event);
      await broker.publish(event, options);
    },
    async publishBatch(events, options) {
      batches.push([...events]);
      if (failures > 0) {
        failures -= 1;
        throw new Error("broker busy");
      }
      for (const event of events) await broker.publish(event, options);
    },
  };
  return { broker: batching, batches, single, failNext: (n: number) => (failures = n) };
}

/** A Db whose statements that mark outbox rows sent are counted. */
function countingMarks(db: Db): { db: Db; marks: () => number } {
  let marks = 0;
  const counted: Db = Object.create(db) as Db;
  counted.query = (text, params) => {
    if (text.includes("SET sent_at")) marks++;
    return db.query(text, params);
  };
  return { db: counted, marks: () => marks };
}

const all = await backends();

describe.each(all)("batching on $kind", (backend) => {
  const suite = backend.available ? describe : describe.skip;
  suite("relay, inbox and consumer", () => {
    let opened: OpenedStorage;
    beforeAll(async () => {
      opened = await backend.open();
    });
    afterAll(async () => {
      await opened?.close();
    });

    /** Writes `perSubject` events for each subject in one transaction; returns them. */
    async function writeAll(
      outbox: ReturnType<typeof createOutbox>,
      subjects: string[],
      perSubject: number,
    ) {
      const events = subjects.flatMap((s) =>
        Array.from({ length: perSubject }, (_, i) => orderEvent(s, i + 1)),
      );
      await outbox.transaction(async (tx) => {
        for (const e of events) await outbox.add(tx, e);
      });
      return events;
    }

    it("publishes a read in one batch, in order, and marks it sent in one statement", async () => {
      const { db, marks } = countingMarks(await opened.service("batch_relay"));
      const { broker, batches, single } = batchingBroker();
      const outbox = createOutbox({ db, broker });
      await outbox.start();
      const events = await writeAll(outbox, ["a", "b", "c"], 4);
      await outbox.flush();
      // One read, one request, in the order written (positions).
      expect(batches.map((b) => b.map((e) => e.id))).toEqual([events.map((e) => e.id)]);
      expect(single).toEqual([]);
      expect(marks()).toBe(1);
      expect(await outbox.pending()).toBe(0);
      await outbox.close();
      await broker.close();
    });

    it("runs each event of a batch through the interceptors, in one request", async () => {
      const isSkipped = (e: CloudEvent) => e.subject === "a" && e.data["totalCents"] === "2";
      const db = await opened.service("batch_chain");
      const { broker, batches, single } = batchingBroker();
      const seen: string[] = [];
      const outbox = createOutbox({
        db,
        broker,
        interceptors: [
          (next) =>
            async function observe(call) {
              seen.push(call.event.id);
              // Answers for one event by itself: it is left out of the request, and marked sent.
              if (isSkipped(call.event)) return;
              await Promise.resolve(); // an interceptor that awaits before going on
              return next(call);
            },
        ],
      });
      await outbox.start();
      const events = await writeAll(outbox, ["a", "b"], 2);
      await outbox.flush();
      expect(seen).toEqual(events.map((e) => e.id));
      expect(batches).toHaveLength(1);
      const sent = batches[0]!;
      expect(sent.map((e) => e.id)).toEqual(events.filter((e) => !isSkipped(e)).map((e) => e.id));
      // Each went out re-stamped with the span it was published as (a child of the stored one).
      for (const event of sent) {
        const stored = events.find((e) => e.id === event.id)!;
        expect(event.traceparent).not.toBe(stored.traceparent);
        expect(event.traceparent?.split("-")[1]).toBe(stored.traceparent?.split("-")[1]);
      }
      expect(single).toEqual([]);
      expect(await outbox.pending()).toBe(0);
      await outbox.close();
      await broker.close();
    });

    it("publishes subject by subject, in order, when a batch fails", async () => {
      const db = await opened.service("batch_fail");
      const { broker, batches, single, failNext } = batchingBroker();
      failNext(1);
      const outbox = createOutbox({ db, broker });
      await outbox.start();
      const events = await writeAll(outbox, ["a", "b"], 3);
      await outbox.flush();
      expect(batches).toHaveLength(1);
      for (const subject of ["a", "b"]) {
        expect(
          single.filter((e) => e.subject === subject).map((e) => e.data["totalCents"]),
        ).toEqual(["1", "2", "3"]);
      }
      expect(single).toHaveLength(events.length);
      expect(await outbox.pending()).toBe(0);
      await outbox.close();
      await broker.close();
    });

    it("leaves a subject with an unreadable row to its own way, batching the others", async () => {
      const db = await opened.service("batch_bad");
      const { broker, batches } = batchingBroker();
      const outbox = createOutbox({ db, broker, pollIntervalMs: 60_000 });
      await outbox.start();
      await outbox.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO plexus_outbox (event_id, ordering_key, event_type, event)
           VALUES ('bad-1', 'bad', 'test.orders.v1.OrderPlaced', '{"nope": true}'::jsonb)`,
        );
        await outbox.add(tx, orderEvent("bad", 2));
        await outbox.add(tx, orderEvent("good", 1));
      });
      await expect.poll(() => batches.length).toBe(1);
      expect(batches[0]?.map((e) => e.subject)).toEqual(["good"]);
      await expect
        .poll(async () => {
          const { rows } = await db.query<{ attempts: number }>(
            "SELECT attempts FROM plexus_outbox WHERE event_id = 'bad-1'",
          );
          return rows[0]?.attempts ?? 0;
        })
        // At least once: the subject is retried after its backoff, which may be short.
        .toBeGreaterThanOrEqual(1);
      // The readable row behind it stays unsent: its subject's order holds.
      expect(await outbox.pending()).toBe(2);
      outbox.destroy();
      await broker.close();
    });

    it("records a batch in the inbox once per event, all or nothing", async () => {
      const db = await opened.service("batch_inbox");
      await db.query("CREATE TABLE effects (event_id text NOT NULL)");
      const [a, b, c] = [orderEvent("x", 1), orderEvent("x", 2), orderEvent("x", 3)];
      await handleEachOnce(db, "g", [c], async () => undefined);
      const apply = (fail?: string) => async (tx: Sql, e: CloudEvent, first: boolean) => {
        if (first) await tx.query("INSERT INTO effects (event_id) VALUES ($1)", [e.id]);
        if (e.id === fail) throw new Error("no");
        return first;
      };
      await expect(handleEachOnce(db, "g", [a, b], apply(b.id))).rejects.toThrow("no");
      const effects = async () =>
        (await db.query<{ event_id: string }>("SELECT event_id FROM effects")).rows.map(
          (r) => r.event_id,
        );
      expect(await effects()).toEqual([]);
      expect(await handleEachOnce(db, "g", [a, b, a, c], apply())).toEqual([
        true,
        true,
        false,
        false,
      ]);
      expect((await effects()).sort()).toEqual([a.id, b.id].sort());
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*)::integer AS n FROM plexus_inbox WHERE group_name = 'g'",
      );
      expect(rows[0]?.n).toBe(3);
    });

    it("runs a consumer's batch in one transaction, reported once committed, nothing if one fails", async () => {
      const db = await opened.service("batch_consumer");
      await db.query("CREATE TABLE effects (event_id text NOT NULL)");
      let subscription: BrokerSubscription | undefined;
      const broker = createMemoryBroker();
      const capturing: Broker = {
        ...broker,
        kind: broker.kind,
        publish: (e, o) => broker.publish(e, o),
        close: () => broker.close(),
        async subscribe(s) {
          subscription = s;
          return broker.subscribe(s);
        },
      };
      const reports: string[] = [];
      const report: DeliveryInterceptor = (next) =>
        async function report(call) {
          try {
            const outcome = await next(call);
            reports.push(outcome);
            return outcome;
          } catch (error) {
            reports.push("failed");
            throw error;
          }
        };
      const events = [orderEvent("y", 1), orderEvent("y", 2), orderEvent("y", 3)];
      let failOn: string | undefined;
      const runtime = createConsumerRuntime({
        service: "batcher",
        db,
        broker: capturing,
        consumers: [
          {
            name: "ledger",
            types: ["test.orders.v1.*"],
            handle: async (event, tx) => {
              await tx.query("INSERT INTO effects (event_id) VALUES ($1)", [event.id]);
              if (event.data["totalCents"] === failOn) throw new Error("no");
            },
          },
        ],
        interceptors: [report],
      });
      await runtime.start();
      const delivery = {
        group: "batcher.ledger",
        attempt: 1,
        maxDeliveries: 5,
        signal: new AbortController().signal,
      };
      const count = async () =>
        (await db.query<{ n: number }>("SELECT count(*)::integer AS n FROM effects")).rows[0]?.n;
      // Its first event failing: nothing waits for the commit, and the batch just rejects.
      failOn = "1";
      await expect(subscription!.batchHandler!(events, delivery)).rejects.toThrow("no");
      expect(reports).toEqual(["failed"]);
      failOn = "2";
      await expect(subscription!.batchHandler!(events, delivery)).rejects.toThrow("no");
      expect(await count()).toBe(0);
      // The batch rolled back: its interceptors saw both events it reached fail, none succeed.
      expect(reports).toEqual(["failed", "failed", "failed"]);
      failOn = undefined;
      await subscription!.handler(events[0]!, delivery);
      await subscription!.batchHandler!(events, delivery);
      expect(reports).toEqual([
        "failed",
        "failed",
        "failed",
        "processed",
        "duplicate",
        "processed",
        "processed",
      ]);
      expect(await count()).toBe(3);
      await runtime.close();
      await broker.close();
    });
  });
});
