import { Code, type Broker, type CloudEvent, type Db } from "@plexus/core";
import {
  createEvent,
  createMemoryBroker,
  createOutbox,
  type MemoryBroker,
} from "@plexus/messaging";
import { createFakeClock } from "@plexus/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, type OpenedStorage } from "./backends.ts";
import { afterPublish, eventually, tick as flush } from "./helpers.ts";
import { OrderPlacedSchema } from "./test-events.ts";

function orderEvent(subject: string, seq: number): CloudEvent {
  return createEvent(
    OrderPlacedSchema,
    { orderId: subject, totalCents: BigInt(seq) },
    {
      source: "/orders",
      subject,
    },
  );
}

/** Subscribes a group that records, per subject, the sequence numbers in arrival order. */
async function recordArrivals(broker: Broker, group = "audit") {
  const bySubject = new Map<string, number[]>();
  const ids: string[] = [];
  await broker.subscribe({
    group,
    types: ["test.orders.v1.*"],
    concurrency: 8,
    handler: async (e) => {
      // Uneven handling times: a relay that did not keep order per subject would show it.
      for (let i = 0; i < Number(e.data["totalCents"] ?? 0) % 3; i++) await flush();
      const list = bySubject.get(e.subject ?? "") ?? [];
      list.push(Number(e.data["totalCents"] ?? 0));
      bySubject.set(e.subject ?? "", list);
      ids.push(e.id);
    },
    deadLetter: async () => {
      throw new Error("unexpected dead letter");
    },
  });
  return { bySubject, ids };
}

const all = await backends();

describe.each(all)("outbox on $kind", (backend) => {
  const suite = backend.available ? describe : describe.skip;
  suite("relay", () => {
    let opened: OpenedStorage;
    beforeAll(async () => {
      opened = await backend.open();
    });
    afterAll(async () => {
      await opened?.close();
    });

    async function insertOrder(db: Db): Promise<void> {
      await db.query("CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY, n integer)");
    }

    it("publishes committed events in order per subject, and never a rolled-back one", async () => {
      const db = await opened.service("outbox_order");
      await insertOrder(db);
      const broker = createMemoryBroker();
      const arrivals = await recordArrivals(broker);
      const outbox = createOutbox({ db, broker });
      await outbox.start();

      const subjects = ["a", "b", "c", "d"];
      const writes: Promise<unknown>[] = [];
      for (let seq = 1; seq <= 6; seq++) {
        for (const subject of subjects) {
          // Sequential per subject (as writers of one aggregate are), concurrent across subjects.
          writes.push(
            outbox.transaction(async (tx) => {
              await tx.query(
                "INSERT INTO orders (id, n) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET n = $2",
                [subject, seq],
              );
              await outbox.add(tx, orderEvent(subject, seq));
            }),
          );
        }
        await Promise.all(writes.splice(0));
      }
      const rolledBack = orderEvent("a", 99);
      await expect(
        outbox.transaction(async (tx) => {
          await outbox.add(tx, rolledBack);
          throw new Error("business rule says no");
        }),
      ).rejects.toThrow("business rule says no");

      await outbox.flush();
      for (const subject of subjects) {
        expect(arrivals.bySubject.get(subject)).toEqual([1, 2, 3, 4, 5, 6]);
      }
      expect(arrivals.ids).not.toContain(rolledBack.id);
      expect(await outbox.pending()).toBe(0);
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*)::integer AS n FROM plexus_outbox WHERE sent_at IS NOT NULL",
      );
      expect(rows[0]?.n).toBe(24);
      await outbox.close();
      await broker.close();
    });

    it("is idempotent per event id and refuses invalid envelopes", async () => {
      const db = await opened.service("outbox_idem");
      const broker = createMemoryBroker();
      const arrivals = await recordArrivals(broker);
      const outbox = createOutbox({ db, broker });
      await outbox.start();
      const e = orderEvent("x", 1);
      const results = await outbox.transaction(async (tx) => [
        await outbox.add(tx, e),
        await outbox.add(tx, e),
      ]);
      expect(results).toEqual([true, false]);
      await expect(
        outbox.transaction((tx) => outbox.add(tx, { ...e, id: "" })),
      ).rejects.toMatchObject({ code: Code.InvalidArgument });
      await outbox.flush();
      expect(arrivals.ids).toEqual([e.id]);
      await outbox.close();
      await broker.close();
    });

    it("resumes unsent rows after a crash: a new relay on the same db publishes them", async () => {
      const db = await opened.service("outbox_crash");
      const clock = createFakeClock(Date.now());
      // First life: the consumer never acks, so nothing can be marked sent; then the process dies.
      const broker1 = createMemoryBroker({ clock });
      await broker1.subscribe({
        group: "audit",
        types: ["*"],
        handler: () => new Promise(() => {}),
        deadLetter: async () => {},
      });
      const outbox1 = createOutbox({ db, broker: broker1, clock, leaseTtlMs: 10_000 });
      await outbox1.start();
      const events = ["p", "q", "p", "q"].map((s, i) => orderEvent(s, i + 1));
      await outbox1.transaction(async (tx) => {
        for (const e of events) await outbox1.add(tx, e);
      });
      await flush();
      outbox1.destroy();
      broker1.destroy();
      expect(await outbox1.pending()).toBe(4);

      // Second life. On a shared database a new relay must wait out the dead holder's lease; on
      // an exclusive one (embedded PGlite) the holder is provably dead and it takes over at once.
      const broker2 = createMemoryBroker({ clock });
      const arrivals = await recordArrivals(broker2);
      const outbox2 = createOutbox({ db, broker: broker2, clock, leaseTtlMs: 10_000 });
      await outbox2.start();
      if (db.exclusive) {
        await outbox2.flush(); // no time passes
      } else {
        await flush();
        await flush();
        expect(arrivals.ids).toEqual([]); // the crashed relay's lease still holds
        await clock.advanceAsync(10_001); // lease expired; a poll takes over
        await outbox2.flush();
      }
      expect(arrivals.bySubject.get("p")).toEqual([1, 3]);
      expect(arrivals.bySubject.get("q")).toEqual([2, 4]);
      expect(await outbox2.pending()).toBe(0);
      await outbox2.close();
      await broker2.close();
    });

    it("publishes rows written before any relay ran, on start", async () => {
      const db = await opened.service("outbox_cold");
      const broker = createMemoryBroker();
      const arrivals = await recordArrivals(broker);
      const writer = createOutbox({ db, broker });
      await writer.start();
      await writer.close(); // releases the lease; the rows below are written with no relay running
      await db.transaction(async (tx) => {
        await writer.add(tx, orderEvent("cold", 1));
      });
      const relay = createOutbox({ db, broker });
      await relay.start();
      await relay.flush();
      expect(arrivals.bySubject.get("cold")).toEqual([1]);
      await relay.close();
      await broker.close();
    });

    it("backs off per subject while the broker fails, records the failure, then delivers", async () => {
      const db = await opened.service("outbox_backoff");
      const clock = createFakeClock(Date.now());
      const inner: MemoryBroker = createMemoryBroker({ clock });
      const arrivals = await recordArrivals(inner);
      let down = true;
      let attempts = 0;
      const flaky: Broker = {
        kind: "flaky",
        publish: (e, o) => {
          attempts += 1;
          return down ? Promise.reject(new Error("broker unreachable")) : inner.publish(e, o);
        },
        subscribe: (s) => inner.subscribe(s),
        close: () => inner.close(),
        [Symbol.asyncDispose]: () => inner.close(),
      };
      const failedAt: number[] = [];
      const outbox = createOutbox({
        db,
        broker: flaky,
        clock,
        random: () => 0.5,
        backoff: { initialMs: 1_000, maxMs: 60_000 },
        pollIntervalMs: 100_000,
        interceptors: [
          (next) =>
            async function recordFailure(call) {
              try {
                await next(call);
              } catch (error) {
                failedAt.push(clock.now());
                throw error;
              }
            },
        ],
      });
      await outbox.start();
      const failuresRecorded = async (n: number): Promise<boolean> => {
        const { rows } = await db.query<{ attempts: number }>("SELECT attempts FROM plexus_outbox");
        return rows[0]?.attempts === n;
      };
      await outbox.transaction((tx) => outbox.add(tx, orderEvent("s", 1)));
      await eventually(() => failuresRecorded(1));
      const advanceTo = (at: number): Promise<void> => clock.advanceAsync(at - clock.now());
      const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));
      /**
       * Moves the clock to `due` and waits for the n-th failure. If the relay scheduled its wake-up
       * only after the clock had passed the due time (its poll raced the test's advance), it wakes
       * up at most minRetryMs (10 ms) later: one more small step covers that.
       */
      const failureAtDue = async (n: number, due: number): Promise<void> => {
        await advanceTo(due);
        for (let i = 0; i < 100 && failedAt.length < n; i++) await settle();
        if (failedAt.length < n) await clock.advanceAsync(10);
        await eventually(() => failuresRecorded(n));
      };

      // The fake clock does not move by itself: no retry can happen before it is advanced.
      await advanceTo(failedAt[0]! + 499); // first retry 0.5 × 1000 ms after the first failure
      await settle();
      expect(attempts).toBe(1);
      await failureAtDue(2, failedAt[0]! + 500);
      expect(failedAt[1]! - failedAt[0]!).toBeGreaterThanOrEqual(500);
      expect(failedAt[1]! - failedAt[0]!).toBeLessThanOrEqual(510);
      await advanceTo(failedAt[1]! + 999); // second retry 0.5 × 2000 ms after the second
      await settle();
      expect(attempts).toBe(2);
      await failureAtDue(3, failedAt[1]! + 1000);
      expect(failedAt[2]! - failedAt[1]!).toBeGreaterThanOrEqual(1000);
      expect(failedAt[2]! - failedAt[1]!).toBeLessThanOrEqual(1010);
      expect(attempts).toBe(3);
      expect(failedAt).toHaveLength(3);
      const { rows } = await db.query<{ attempts: number; last_error: string }>(
        "SELECT attempts, last_error FROM plexus_outbox",
      );
      expect(rows).toEqual([{ attempts: 3, last_error: "broker unreachable" }]);

      down = false;
      await clock.advanceAsync(2_001);
      await outbox.flush();
      expect(arrivals.bySubject.get("s")).toEqual([1]);
      await outbox.close();
      await inner.close();
    });

    it("close publishes what is unsent before stopping", async () => {
      const db = await opened.service("outbox_drain");
      const broker = createMemoryBroker();
      const arrivals = await recordArrivals(broker);
      const outbox = createOutbox({ db, broker });
      await outbox.start();
      await outbox.transaction(async (tx) => {
        for (let i = 1; i <= 5; i++) await outbox.add(tx, orderEvent("d", i));
      });
      await outbox.close();
      expect(arrivals.bySubject.get("d")).toEqual([1, 2, 3, 4, 5]);
      expect(await createOutbox({ db, broker }).pending()).toBe(0);
      await broker.close();
    });

    it("lets one relay of several publish (lease), and hands over on close", async () => {
      const db = await opened.service("outbox_lease");
      const broker = createMemoryBroker();
      const arrivals = await recordArrivals(broker);
      const published: string[] = [];
      const first = createOutbox({
        db,
        broker,
        interceptors: [afterPublish(() => published.push("first"))],
      });
      const second = createOutbox({
        db,
        broker,
        interceptors: [afterPublish(() => published.push("second"))],
      });
      await first.start();
      await second.start();
      await first.transaction((tx) => first.add(tx, orderEvent("l", 1)));
      await second.transaction((tx) => second.add(tx, orderEvent("l", 2)));
      await first.flush();
      expect(published).toEqual(["first", "first"]);
      await first.close();
      await second.transaction((tx) => second.add(tx, orderEvent("l", 3)));
      // The poll (1 s by default) finds the free lease; flush waits for it.
      await second.flush();
      expect(published).toEqual(["first", "first", "second"]);
      expect(arrivals.bySubject.get("l")).toEqual([1, 2, 3]);
      await second.close();
      await broker.close();
    });
  });
});
