/**
 * `plexus-kafka`: what a service does. Each op writes one event in a Postgres transaction through
 * the writer service's outbox and resolves once the reader service's consumer handled it: the
 * outbox relay publishes it through the Kafka adapter (idempotent producer, acks=all), the
 * consumer runtime records it in its inbox and its effect (a row in `received`) in one
 * transaction, then the adapter commits the offset. Writer and reader are two services with a
 * schema and a pool each on one fresh Postgres database.
 */
import { randomUUID } from "node:crypto";
import type { CloudEvent, Db } from "@plexus/core";
import {
  createConsumerRuntime,
  createOutbox,
  type ConsumerRuntime,
  type Outbox,
} from "@plexus/messaging";
import { createKafkaBroker, type KafkaBroker } from "@plexus/messaging-kafka";
import { openStorage, type Storage } from "@plexus/storage";
import { createStatementCounter } from "@plexus/testing";
import type { Candidate } from "../../harness.ts";
import { Arrivals } from "./arrivals.ts";
import {
  arrivalTimeoutMs,
  nextAggregate,
  partitions,
  payloadBytes,
  type KafkaTarget,
} from "./workload.ts";

const type = "bench.ledger.v1.EntryPosted";
/** `data` whose JSON (the record's value in binary mode) is `payloadBytes` long. */
const data = { pad: "x".repeat(payloadBytes - JSON.stringify({ pad: "" }).length) };

export function plexusKafka(target: KafkaTarget & { readonly databaseUrl: string }): Candidate {
  const arrivals = new Arrivals("plexus-kafka", arrivalTimeoutMs);
  /** Statements per service, reported per event at the end (the cost the batching saves). */
  const counter = createStatementCounter();
  let storage: Storage | undefined;
  let broker: KafkaBroker | undefined;
  let outbox: Outbox | undefined;
  let runtime: ConsumerRuntime | undefined;
  let writer: Db;
  let reader: Db;

  async function op(): Promise<void> {
    const event: CloudEvent = {
      specversion: "1.0",
      id: randomUUID(),
      source: "/bench-writer",
      type,
      time: new Date().toISOString(),
      subject: nextAggregate(),
      datacontenttype: "application/json",
      dataschema: `urn:plexus:${type}`,
      data,
    };
    const arrived = arrivals.expect(event.id);
    await outbox!.transaction((tx) => outbox!.add(tx, event));
    await arrived;
  }

  /** Throws unless `received` holds every published event once, and the inbox as many records. */
  async function verifyStored(): Promise<void> {
    const { rows } = await reader.query<{ total: number; distinct: number; inbox: number }>(
      `SELECT count(*)::integer AS total, count(DISTINCT event_id)::integer AS distinct,
              (SELECT count(*)::integer FROM plexus_inbox) AS inbox FROM received`,
    );
    const { total, distinct, inbox } = rows[0]!;
    const expected = arrivals.published;
    if (total !== expected || distinct !== expected || inbox !== expected) {
      throw new Error(
        `plexus-kafka: ${expected} published, ${total} effects (${distinct} distinct), ${inbox} inbox records`,
      );
    }
    console.log(
      `note: plexus-kafka: ${expected} events, each in the inbox and applied exactly once`,
    );
    for (const [service, count] of counter.counts()) {
      console.log(
        `note: plexus-kafka: ${service}: ${(count.statements / expected).toFixed(2)} statements, ` +
          `${(count.transactions / expected).toFixed(2)} transactions per event`,
      );
    }
  }

  return {
    name: "plexus-kafka",
    op,
    async setup() {
      storage = counter.wrap(await openStorage({ databaseUrl: target.databaseUrl }));
      writer = await storage.forService("bench_writer", []);
      reader = await storage.forService("bench_reader", [
        { id: 1, name: "received", sql: "CREATE TABLE received (event_id text NOT NULL)" },
      ]);
      broker = await createKafkaBroker({
        brokers: target.brokers,
        clientId: "plexus-bench",
        topicPrefix: target.topicPrefix,
        partitions,
      });
      outbox = createOutbox({ db: writer, broker });
      runtime = createConsumerRuntime({
        service: "bench_reader",
        db: reader,
        broker,
        consumers: [
          {
            name: "ledger",
            types: [type],
            handle: async (event, tx) => {
              await tx.query("INSERT INTO received (event_id) VALUES ($1)", [event.id]);
            },
          },
        ],
        interceptors: [
          (next) =>
            async function arrived(call) {
              const outcome = await next(call);
              if (outcome === "processed") arrivals.arrived(call.event.id);
              return outcome;
            },
        ],
      });
      await outbox.start();
      await runtime.start();
      await op(); // the group has joined and reads
    },
    async teardown() {
      arrivals.stop();
      try {
        arrivals.verify();
        await verifyStored();
      } finally {
        await runtime?.close().catch(() => undefined);
        await outbox?.close().catch(() => undefined);
        await broker?.close().catch(() => undefined);
        await storage?.close().catch(() => undefined);
      }
    },
  };
}
