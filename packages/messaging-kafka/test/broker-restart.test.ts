/**
 * The messaging pattern across a Kafka crash: a broker of this file's own (never the shared one)
 * is killed while a service keeps committing events, stays down until the consumer's client has
 * given up its fetch stream, and is started again on the same port and data. The outbox keeps
 * every unsent row meanwhile; afterwards each event has exactly one effect (the inbox). Before
 * the consumer took a new client for its new stream, records published after such an outage
 * never reached the group again.
 */
import { randomUUID } from "node:crypto";
import { createLogger, type CloudEvent, type Db } from "@plexus/core";
import {
  createConsumerRuntime,
  createOutbox,
  type ConsumerRuntime,
  type Outbox,
} from "@plexus/messaging";
import { openStorage, type Storage } from "@plexus/storage";
import { requireServer, startPrivateKafka, type PrivateKafka } from "@plexus/testing";
import { afterAll, expect, it } from "vitest";
import { createKafkaBroker, type KafkaBroker } from "../src/index.ts";

// The private broker runs from scripts/kafka.sh's jars, which the shared one proves are there.
const kafkaAvailable = await requireServer("kafka");
const type = "test.ledger.v1.EntryPosted";
const toClose: { close(): Promise<void> }[] = [];
let kafka: PrivateKafka | undefined;
let storage: Storage | undefined;

afterAll(async () => {
  for (const resource of toClose.reverse()) await resource.close();
  await storage?.close();
  await kafka?.remove();
}, 60_000);

function entry(): CloudEvent {
  return {
    specversion: "1.0",
    id: randomUUID(),
    source: "/ledger",
    type,
    time: new Date().toISOString(),
    subject: `acct-${Math.floor(Math.random() * 4)}`,
    datacontenttype: "application/json",
    dataschema: "urn:plexus:test.ledger.v1.EntryPosted",
    data: {},
  };
}

async function until(what: string, condition: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it.runIf(kafkaAvailable)(
  "keeps the outbox's rows while the broker is down, and delivers each once it is back",
  async () => {
    kafka = await startPrivateKafka();
    storage = await openStorage({});
    const db: Db = await storage.forService("ledger", []);
    await db.query("CREATE TABLE effects (event_id text NOT NULL)");
    const logged: string[] = [];
    const logger = createLogger({
      name: "broker-restart",
      level: "warn",
      destination: { write: (line: string) => void logged.push(line) },
    });
    const broker: KafkaBroker = await createKafkaBroker({
      brokers: [kafka.broker],
      clientId: "plexus-test",
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      logger,
    });
    toClose.push(broker);
    const runtime: ConsumerRuntime = createConsumerRuntime({
      service: "ledger",
      db,
      broker,
      consumers: [
        {
          name: "posting",
          types: [type],
          handle: async (event, tx) => {
            await tx.query("INSERT INTO effects (event_id) VALUES ($1)", [event.id]);
          },
        },
      ],
    });
    toClose.push(runtime);
    await runtime.start();
    const outbox: Outbox = createOutbox({ db, broker });
    toClose.push(outbox);
    await outbox.start();

    const sent: string[] = [];
    const commit = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const e = entry();
        await outbox.transaction((tx) => outbox.add(tx, e));
        sent.push(e.id);
      }
    };
    const effects = async (): Promise<string[]> =>
      (await db.query<{ event_id: string }>("SELECT event_id FROM effects")).rows.map(
        (r) => r.event_id,
      );
    const unsent = async (): Promise<number> =>
      (await db.query("SELECT 1 FROM plexus_outbox WHERE sent_at IS NULL")).rows.length;

    await commit(5);
    await until("the first effects", async () => (await effects()).length === 5);
    await until("the first rows marked sent", async () => (await unsent()) === 0);

    await kafka.kill();
    await commit(5);
    // Down long enough that the consumer's client gave up its stream: the case that lost records.
    await until("the consumer to give up its stream", () =>
      logged.some((line) => line.includes("kafka fetch stream failed")),
    );
    expect(await unsent()).toBe(5);

    await kafka.start();
    await commit(5);
    await until("every event's effect", async () => (await effects()).length >= sent.length);
    await until("every row sent", async () => (await unsent()) === 0);
    expect((await effects()).sort()).toEqual([...sent].sort());
  },
  240_000,
);
