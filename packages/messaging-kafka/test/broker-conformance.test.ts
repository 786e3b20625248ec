import { randomUUID } from "node:crypto";
import {
  describeBrokerConformance,
  removeKafkaPrefix,
  requireServer,
  serverUrl,
  startPrivateKafka,
  type ConformanceConnection,
  type PrivateKafka,
} from "@plexus/testing";
import { Producer } from "@platformatic/kafka";
import { afterAll, describe } from "vitest";
import { createKafkaBroker, streamOf, topicOf } from "../src/index.ts";

const kafka = await requireServer("kafka");
const brokers = [new URL(serverUrl("kafka")).host];
// Topics of this run only: reruns against the same cluster never meet earlier runs' records.
const topicPrefix = `plexus-test-${randomUUID().slice(0, 8)}.`;
const raw = new Map<string, Producer>();
/** The broker the restart case stops and starts: this file's own, started when that case runs. */
let restartable: Promise<PrivateKafka> | undefined;

afterAll(async () => {
  await Promise.all([...raw.values()].map((producer) => producer.close()));
  await (await restartable?.catch(() => undefined))?.remove();
  if (!kafka) return;
  await removeKafkaPrefix(topicPrefix, brokers);
});

/** A connection to the cluster at `servers`, as one process of a service would hold it. */
async function connectTo(servers: string[]): Promise<ConformanceConnection> {
  const broker = await createKafkaBroker({
    brokers: servers,
    topicPrefix,
    clientId: "plexus-test",
    // Short sessions (the broker of scripts/kafka.sh allows them): a group settles fast.
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
  });
  return {
    broker,
    async publishRaw(type, payload) {
      const key = servers.join(",");
      let producer = raw.get(key);
      if (!producer) {
        producer = new Producer({ clientId: "plexus-test-raw", bootstrapBrokers: servers });
        raw.set(key, producer);
      }
      const topic = topicOf(topicPrefix, streamOf(type));
      await producer.send({ messages: [{ topic, value: Buffer.from(payload) }] });
    },
    destroy: () => broker.destroy(),
  };
}

describe.runIf(kafka)("kafka broker", () => {
  describeBrokerConformance({
    name: "kafka",
    durable: true,
    connect: () => connectTo(brokers),
    async restartable() {
      restartable ??= startPrivateKafka();
      const server = await restartable;
      return {
        connect: () => connectTo([server.broker]),
        stop: () => server.stop(),
        start: () => server.start(),
      };
    },
  });
});
