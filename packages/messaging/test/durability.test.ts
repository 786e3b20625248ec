import type { CloudEvent, Db } from "@plexus/core";
import {
  createEvent,
  createMemoryBroker,
  createOutbox,
  type ConsumerRuntime,
  type MemoryBroker,
  type Outbox,
} from "@plexus/messaging";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, type OpenedStorage } from "./backends.ts";
import { startOrderConsumers } from "./fixtures/shop-messaging.ts";
import { eventually } from "./helpers.ts";
import { OrderPlacedSchema } from "./test-events.ts";

/*
 * The memory broker is durable through the outbox: an event written with the state change is
 * processed exactly once per consumer group, even when the whole messaging side (relay, broker,
 * consumers) dies mid-way — repeatedly — and is started again on the same databases.
 */

/** A deterministic pseudo-random source (mulberry32), so a failing run can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Life {
  readonly broker: MemoryBroker;
  readonly outbox: Outbox;
  readonly runtimes: ConsumerRuntime[];
}

const all = await backends();

describe.each(all)("memory broker durability on $kind", (backend) => {
  const suite = backend.available ? describe : describe.skip;
  suite("crash and restart", () => {
    let opened: OpenedStorage;
    beforeAll(async () => {
      opened = await backend.open();
    });
    afterAll(async () => {
      await opened?.close();
    });

    it("processes every outbox event exactly once per group across crashes", async () => {
      const random = seeded(20260522);
      const orders = await opened.service("dur_orders");
      const consumers = {
        notifications: await opened.service("dur_notifications"),
        analytics: await opened.service("dur_analytics"),
      };
      for (const db of Object.values(consumers)) {
        await db.query(
          "CREATE TABLE effects (n bigserial PRIMARY KEY, event_id text NOT NULL, subject text, seq integer)",
        );
      }
      await orders.query("CREATE TABLE orders (id text PRIMARY KEY, version integer NOT NULL)");

      /** Starts the messaging side of every service, as a process start would. */
      async function startLife(): Promise<Life> {
        const broker = createMemoryBroker({ random });
        // Consumers first, then the relay: no group may miss what the relay publishes.
        const runtimes = await startOrderConsumers(consumers, broker, {
          maxDeliveries: 50,
          backoff: { initialMs: 2, maxMs: 10 },
          handle: async (event, tx) => {
            await tx.query("INSERT INTO effects (event_id, subject, seq) VALUES ($1, $2, $3)", [
              event.id,
              event.subject,
              Number(event.data["totalCents"]),
            ]);
            // Transient failures after the write: it must roll back with the inbox record.
            if (random() < 0.25) throw new Error("transient");
          },
        });
        const outbox = createOutbox({
          db: orders,
          broker,
          random,
          pollIntervalMs: 20,
          leaseTtlMs: 100, // a crashed relay's lease lapses quickly
          backoff: { initialMs: 2, maxMs: 10 },
        });
        await outbox.start();
        return { broker, outbox, runtimes };
      }

      /** kill -9, as far as one process can simulate it: nothing is flushed, closed or released. */
      function crash(life: Life): void {
        life.outbox.destroy();
        life.broker.destroy();
      }

      const written: CloudEvent[] = [];
      async function placeOrders(life: Life, count: number): Promise<void> {
        const writes: Promise<void>[] = [];
        for (let i = 0; i < count; i++) {
          const subject = `order-${Math.floor(random() * 6)}`;
          writes.push(
            life.outbox
              .transaction(async (tx) => {
                const { rows } = await tx.query<{ version: number }>(
                  `INSERT INTO orders (id, version) VALUES ($1, 1)
                   ON CONFLICT (id) DO UPDATE SET version = orders.version + 1 RETURNING version`,
                  [subject],
                );
                const event = createEvent(
                  OrderPlacedSchema,
                  { orderId: subject, totalCents: BigInt(rows[0]!.version) },
                  { source: "/orders", subject },
                );
                await life.outbox.add(tx, event);
                if (random() < 0.1) throw new Error("rolled back");
                written.push(event);
              })
              .catch((error: unknown) => {
                if ((error as Error).message !== "rolled back") throw error;
              }),
          );
        }
        await Promise.all(writes);
      }

      async function effectCount(db: Db): Promise<number> {
        const { rows } = await db.query<{ n: number }>(
          "SELECT count(*)::integer AS n FROM effects",
        );
        return rows[0]?.n ?? 0;
      }

      // Three lives that each die mid-way, at a different depth of progress.
      for (const crashAfterEffects of [3, 12, 25]) {
        const life = await startLife();
        await placeOrders(life, 15);
        await eventually(
          async () => (await effectCount(consumers.notifications)) >= crashAfterEffects,
        );
        crash(life);
      }

      // The last life runs to completion.
      const last = await startLife();
      await placeOrders(last, 10);
      await eventually(async () => (await last.outbox.pending()) === 0);
      await last.outbox.close();
      for (const runtime of last.runtimes) await runtime.close();
      await last.broker.close();

      // Exactly once per group, for exactly the committed events.
      const expected = written.map((e) => e.id).sort();
      for (const [service, db] of Object.entries(consumers)) {
        const { rows } = await db.query<{ event_id: string }>("SELECT event_id FROM effects");
        expect(rows.map((r) => r.event_id).sort(), service).toEqual(expected);
        const { rows: inbox } = await db.query<{ group_name: string; n: number }>(
          "SELECT group_name, count(*)::integer AS n FROM plexus_inbox GROUP BY group_name",
        );
        expect(inbox).toEqual([{ group_name: `${service}.orders`, n: expected.length }]);
        // In order per subject: each subject's versions were processed 1, 2, 3, ...
        const { rows: bySubject } = await db.query<{ subject: string; seqs: number[] }>(
          "SELECT subject, array_agg(seq ORDER BY n) AS seqs FROM effects GROUP BY subject",
        );
        for (const { subject, seqs } of bySubject) {
          expect(seqs, `${service} ${subject}`).toEqual([...seqs].sort((a, b) => a - b));
        }
        const { rows: dead } = await db.query("SELECT * FROM plexus_dead_letters");
        expect(dead).toEqual([]);
      }
      const { rows: unsent } = await orders.query(
        "SELECT * FROM plexus_outbox WHERE sent_at IS NULL",
      );
      expect(unsent).toEqual([]);
    });
  });
});
