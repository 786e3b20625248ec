/**
 * Environments sharing a cluster keep apart through the prefix (`PLEXUS_KAFKA_TOPIC_PREFIX`):
 * their topics and their consumer groups, so neither reads the other's records nor joins the
 * other's groups (a shared group would rebalance both at every start of either).
 */
import { randomUUID } from "node:crypto";
import type { CloudEvent } from "@plexus/core";
import { removeKafkaPrefix, requireServer, serverUrl } from "@plexus/testing";
import { Admin } from "@platformatic/kafka";
import { afterAll, describe, expect, it } from "vitest";
import { createKafkaBroker, type KafkaBroker } from "../src/index.ts";

const kafka = await requireServer("kafka");
const brokers = [new URL(serverUrl("kafka")).host];
const run = randomUUID().slice(0, 8);
const prefixes = [`plexus-test-${run}-a.`, `plexus-test-${run}-b.`];
const opened: KafkaBroker[] = [];

afterAll(async () => {
  await Promise.all(opened.map((broker) => broker.close()));
  if (kafka) for (const prefix of prefixes) await removeKafkaPrefix(prefix, brokers);
});

function entry(type: string): CloudEvent {
  return {
    specversion: "1.0",
    id: randomUUID(),
    source: "/ledger",
    type,
    time: new Date().toISOString(),
    subject: "acct-1",
    datacontenttype: "application/json",
    dataschema: "urn:plexus:test.ledger.v1.EntryPosted",
    data: {},
  };
}

describe.runIf(kafka)("the Kafka prefix", () => {
  it("keeps two environments' topics and consumer groups apart on one cluster", async () => {
    const type = "test.ledger.v1.EntryPosted";
    const group = `billing-${run}`;
    const environments = await Promise.all(
      prefixes.map(async (topicPrefix) => {
        const broker = await createKafkaBroker({
          brokers,
          topicPrefix,
          clientId: "plexus-test",
          sessionTimeoutMs: 6_000,
          heartbeatIntervalMs: 500,
        });
        opened.push(broker);
        const seen: string[] = [];
        await broker.subscribe({
          group,
          types: ["test.ledger.v1.*"],
          handler: async (event) => void seen.push(event.id),
          deadLetter: async () => {},
        });
        const event = entry(type);
        await broker.publish(event);
        return { topicPrefix, seen, event };
      }),
    );
    const deadline = Date.now() + 15_000;
    while (environments.some((e) => e.seen.length === 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const { seen, event } of environments) expect(seen).toEqual([event.id]);

    const admin = new Admin({ clientId: "plexus-test", bootstrapBrokers: brokers });
    try {
      const groups = [...(await admin.listGroups()).keys()].filter((id) => id.endsWith(group));
      expect(groups.sort()).toEqual(prefixes.map((prefix) => `${prefix}${group}`).sort());
      const topics = (await admin.listTopics()).filter((topic) => topic.includes(run));
      expect(topics.sort()).toEqual(prefixes.map((prefix) => `${prefix}test.ledger.v1`).sort());
    } finally {
      await admin.close();
    }
  });
});
