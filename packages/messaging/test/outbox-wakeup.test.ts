import type { CloudEvent, Db } from "@plexus/core";
import {
  createEvent,
  createMemoryBroker,
  createOutbox,
  type MemoryBroker,
  type Outbox,
} from "@plexus/messaging";
import { openStorage } from "@plexus/storage";
import { createFakeClock, createTestDatabase, requireServer } from "@plexus/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, type OpenedStorage } from "./backends.ts";
import { deferred } from "./helpers.ts";
import { OrderPlacedSchema } from "./test-events.ts";

/*
 * The relay is woken by the commit that added a row (`Db.listen`), not by its poll: every relay
 * here runs on a fake clock that never moves and polls once an hour, so only the wake-up can
 * deliver what a test commits after the relay's first (empty) read.
 */

const hour = 3_600_000;

function orderEvent(orderId: string): CloudEvent {
  return createEvent(
    OrderPlacedSchema,
    { orderId, totalCents: 1n },
    { source: "/orders", subject: orderId },
  );
}

/** A broker whose `received` resolves at the first event published. */
async function brokerReceiving() {
  const broker = createMemoryBroker();
  const received = deferred();
  const ids: string[] = [];
  await broker.subscribe({
    group: "audit",
    types: ["test.orders.v1.*"],
    handler: async (event) => {
      ids.push(event.id);
      received.resolve();
    },
    deadLetter: async () => {
      throw new Error("unexpected dead letter");
    },
  });
  return { broker, received: received.promise, ids };
}

/**
 * An outbox whose relay has a fake clock that never moves (its hourly poll never comes) and the
 * promise of its relay's first read done: from then on nothing but a wake-up makes it read again.
 */
function idleOutbox(db: Db, broker: MemoryBroker): { outbox: Outbox; firstRead: Promise<void> } {
  const firstRead = deferred();
  const watched: Db = {
    ...db,
    async query(text, params) {
      const result = await db.query<never>(text, params);
      if (text.includes("ORDER BY position LIMIT")) firstRead.resolve();
      return result;
    },
  };
  const outbox = createOutbox({
    db: watched,
    broker,
    clock: createFakeClock(0),
    pollIntervalMs: hour,
  });
  return { outbox, firstRead: firstRead.promise };
}

const all = await backends();

describe.each(all)("outbox wake-ups on $kind", (backend) => {
  const suite = backend.available ? describe : describe.skip;
  suite("relay", () => {
    let opened: OpenedStorage;
    beforeAll(async () => {
      opened = await backend.open();
    });
    afterAll(async () => {
      await opened?.close();
    });

    it("publishes a row committed through a plain db.transaction at once, not at the next poll", async () => {
      const db = await opened.service("wake");
      const { broker, received, ids } = await brokerReceiving();
      const { outbox, firstRead } = idleOutbox(db, broker);
      await outbox.start();
      await firstRead;
      const event = orderEvent("o1");
      await db.transaction((tx) => outbox.add(tx, event));
      await received;
      expect(ids).toEqual([event.id]);
      await outbox.close();
    });

    it("publishes what outbox.transaction commits at once, and never a rolled-back add", async () => {
      const db = await opened.service("wake_rb");
      const { broker, received, ids } = await brokerReceiving();
      const { outbox, firstRead } = idleOutbox(db, broker);
      await outbox.start();
      await firstRead;
      await expect(
        db.transaction(async (tx) => {
          await outbox.add(tx, orderEvent("gone"));
          throw new Error("rolled back");
        }),
      ).rejects.toThrow("rolled back");
      const kept = orderEvent("kept");
      await outbox.transaction((tx) => outbox.add(tx, kept));
      await received;
      expect(ids).toEqual([kept.id]);
      await outbox.close();
    });
  });
});

const postgresUp = await requireServer("postgres");

describe.skipIf(!postgresUp)("outbox wake-ups across processes on Postgres", () => {
  it("publishes at once a row committed by another storage on the same database (NOTIFY)", async () => {
    const database = await createTestDatabase({ prefix: "plexus_msg" });
    const relaying = await openStorage({ databaseUrl: database.url });
    const writing = await openStorage({ databaseUrl: database.url });
    try {
      const { broker, received, ids } = await brokerReceiving();
      const { outbox: relay, firstRead } = idleOutbox(
        await relaying.forService("orders", []),
        broker,
      );
      await relay.start();
      await firstRead;
      // The writer's outbox never starts its relay: only the relaying storage publishes.
      const writerDb = await writing.forService("orders", []);
      const writer = createOutbox({ db: writerDb, broker: createMemoryBroker() });
      const event = orderEvent("remote");
      await writer.transaction((tx) => writer.add(tx, event));
      await received;
      expect(ids).toEqual([event.id]);
      await relay.close();
      await writer.close();
    } finally {
      await relaying.close();
      await writing.close();
      await database.drop();
    }
  });
});
