/**
 * The messaging pattern end to end on Kafka: the outbox relay publishes through the idempotent
 * producer, the consumer runtime's inbox turns at-least-once into one effect, and a dead letter
 * parked over Kafka is replayed from the service's store. PGlite in memory, the real broker.
 */
import { randomUUID } from "node:crypto";
import type { CloudEvent, Db, Delivery } from "@plexus/core";
import {
  createConsumerRuntime,
  createOutbox,
  type Consumer,
  type ConsumerRuntime,
  type DeliveryOutcome,
} from "@plexus/messaging";
import { openStorage, type Storage } from "@plexus/storage";
import { removeKafkaPrefix, requireServer, serverUrl } from "@plexus/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createKafkaBroker, type KafkaBroker } from "../src/index.ts";

const kafka = await requireServer("kafka");
const brokers = [new URL(serverUrl("kafka")).host];
const topicPrefix = `plexus-test-${randomUUID().slice(0, 8)}.`;
let streams = 0;

/** An event type on a stream of its own: a new group reads its stream from the start. */
function freshType(): string {
  streams += 1;
  return `test.ledger${streams}.v1.EntryPosted`;
}

function entry(type: string, subject: string): CloudEvent {
  return {
    specversion: "1.0",
    id: randomUUID(),
    source: "/ledger",
    type,
    time: new Date().toISOString(),
    subject,
    datacontenttype: "application/json",
    dataschema: "urn:plexus:test.ledger.v1.EntryPosted",
    data: { account: subject },
  };
}

async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.runIf(kafka)("outbox and inbox over Kafka", () => {
  let storage: Storage;
  let schema = 0;
  const toClose: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    storage = await openStorage({});
  });
  afterEach(async () => {
    for (const resource of toClose.splice(0).reverse()) await resource.close();
  });
  afterAll(async () => {
    await storage?.close();
    await removeKafkaPrefix(topicPrefix, brokers);
  });

  /** A fresh service schema with an effects table, a broker and a runtime running `consumer`. */
  async function service(consumer: Consumer, reports: DeliveryOutcome[] = []) {
    schema += 1;
    const db: Db = await storage.forService(`ledger_${schema}`, []);
    await db.query("CREATE TABLE effects (event_id text NOT NULL)");
    const broker: KafkaBroker = await createKafkaBroker({
      brokers,
      topicPrefix,
      clientId: "plexus-test",
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
    });
    toClose.push(broker);
    const runtime: ConsumerRuntime = createConsumerRuntime({
      service: `ledger${schema}`,
      db,
      broker,
      consumers: [consumer],
      interceptors: [
        (next) =>
          async function recordOutcome(call) {
            const outcome = await next(call);
            reports.push(outcome);
            return outcome;
          },
      ],
    });
    toClose.push(runtime);
    await runtime.start();
    const effects = async (): Promise<string[]> =>
      (await db.query<{ event_id: string }>("SELECT event_id FROM effects")).rows.map(
        (r) => r.event_id,
      );
    return { db, broker, runtime, effects };
  }

  const insertEffect: Consumer["handle"] = async (event, tx) => {
    await tx.query("INSERT INTO effects (event_id) VALUES ($1)", [event.id]);
  };

  it("relays committed outbox rows to Kafka, and the inbox makes a duplicate one effect", async () => {
    const type = freshType();
    const reports: DeliveryOutcome[] = [];
    const { db, broker, effects } = await service(
      { name: "posting", types: [type], handle: insertEffect },
      reports,
    );
    const outbox = createOutbox({ db, broker });
    toClose.push(outbox);
    await outbox.start();
    const e = entry(type, "acct-1");
    await outbox.transaction((tx) => outbox.add(tx, e));
    await outbox.flush();
    await broker.publish(e); // the same event again, as a relay that crashed before marking it
    await until("both deliveries", () => reports.length === 2);
    expect(reports.toSorted()).toEqual(["duplicate", "processed"]);
    expect(await effects()).toEqual([e.id]);
  });

  it("relays and consumes in batches; an event failing in a batch neither loses nor doubles the others", async () => {
    const type = freshType();
    const deliveries = new Set<Delivery>();
    let failOnce: string | undefined;
    const { db, broker, effects } = await service({
      name: "posting",
      types: [type],
      handle: async (event, tx, delivery) => {
        deliveries.add(delivery);
        await insertEffect(event, tx, delivery);
        if (event.id === failOnce) {
          failOnce = undefined;
          throw new Error("ledger busy");
        }
      },
    });
    const batches: number[] = [];
    const batching = broker.publishBatch!.bind(broker);
    broker.publishBatch = (events, options) => {
      batches.push(events.length);
      return batching(events, options);
    };
    const outbox = createOutbox({ db, broker });
    toClose.push(outbox);
    await outbox.start();
    // Two aggregates: their records share at most two partitions, read a batch at a time.
    const events = Array.from({ length: 40 }, (_, i) => entry(type, `acct-${i % 2}`));
    failOnce = events[7]!.id;
    await outbox.transaction(async (tx) => {
      for (const e of events) await outbox.add(tx, e);
    });
    await outbox.flush();
    expect(batches).toEqual([40]);
    await until("every effect", async () => (await effects()).length >= 40);
    const applied = await effects();
    expect(applied.sort()).toEqual(events.map((e) => e.id).sort());
    expect(failOnce).toBeUndefined();
    // A batch hands every event the same delivery: fewer deliveries than events were batches.
    expect(deliveries.size).toBeLessThan(40);
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::integer AS n FROM plexus_inbox",
    );
    expect(rows[0]?.n).toBe(40);
  });

  it("parks an event that keeps failing in the service's store, and replays it", async () => {
    const type = freshType();
    let failing = true;
    const { broker, runtime, effects } = await service({
      name: "posting",
      types: [type],
      maxDeliveries: 2,
      backoff: { initialMs: 10, maxMs: 20 },
      handle: async (event, tx, delivery) => {
        if (failing) throw new Error("ledger closed");
        await insertEffect(event, tx, delivery);
      },
    });
    const e = entry(type, "acct-2");
    await broker.publish(e);
    await until("the dead letter", async () => (await runtime.deadLetters.count()) === 1);
    const [letter] = await runtime.deadLetters.list();
    expect(letter).toMatchObject({ eventId: e.id, attempts: 2, error: "ledger closed" });
    failing = false;
    expect(await runtime.deadLetters.replay(letter?.id ?? "")).toEqual({ outcome: "processed" });
    expect(await effects()).toEqual([e.id]);
    expect(await runtime.deadLetters.count()).toBe(0);
  });
});
