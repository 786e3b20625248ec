import { randomUUID } from "node:crypto";
import { describeBrokerConformance, requireServer, serverUrl } from "@plexus/testing";
import { Admin, Producer } from "@platformatic/kafka";
import { afterAll, describe } from "vitest";
import { createKafkaBroker, streamOf, topicOf } from "../src/index.ts";

const kafka = await requireServer("kafka");
const brokers = [new URL(serverUrl("kafka")).host];
// Topics of this run only: reruns against the same cluster never meet earlier runs' records.
const topicPrefix = `plexus-test-${randomUUID().slice(0, 8)}.`;
let raw: Producer | undefined;

afterAll(async () => {
  await raw?.close();
  if (!kafka) return;
  const admin = new Admin({ clientId: "plexus-test", bootstrapBrokers: brokers });
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(topicPrefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.close();
  }
});

describe.runIf(kafka)("kafka broker", () => {
  describeBrokerConformance({
    name: "kafka",
    durable: true,
    async connect() {
      const broker = await createKafkaBroker({
        brokers,
        topicPrefix,
        clientId: "plexus-test",
        // Short sessions (the broker of scripts/kafka.sh allows them): a group settles fast.
        sessionTimeoutMs: 6_000,
        heartbeatIntervalMs: 500,
      });
      return {
        broker,
        async publishRaw(type, payload) {
          raw ??= new Producer({ clientId: "plexus-test-raw", bootstrapBrokers: brokers });
          const topic = topicOf(topicPrefix, streamOf(type));
          await raw.send({ messages: [{ topic, value: Buffer.from(payload) }] });
        },
        destroy: () => broker.destroy(),
      };
    },
  });
});
