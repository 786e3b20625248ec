import { createServer } from "node:net";
import { createLogger, StartupError, systemClock, type Settings } from "@plexus/core";
import { requireServer, serverUrl } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { openBroker } from "./open-broker.ts";

const logger = createLogger({ name: "open-broker-test", level: "silent" });
const open = (config: Settings) =>
  openBroker({ config, hostName: "test", clock: systemClock, logger });
const kafka = await requireServer("kafka");

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address ? address.port : 0;
}

describe("openBroker", () => {
  it("keeps the in-process broker when no cluster is configured", async () => {
    const broker = await open({ KAFKA_BROKERS: " " });
    expect(broker.kind).toBe("memory");
    await broker.close();
  });

  it("refuses a malformed KAFKA_BROKERS at once", async () => {
    const error = await open({ KAFKA_BROKERS: "kafka-1, kafka-2:9092" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupError);
    expect((error as StartupError).message).toMatch(
      /^KAFKA_BROKERS must be a comma-separated list/,
    );
  });

  it("refuses a PLEXUS_KAFKA_TOPIC_PREFIX Kafka cannot put in a topic name, at once", async () => {
    const error = await open({
      KAFKA_BROKERS: "127.0.0.1:9092",
      PLEXUS_KAFKA_TOPIC_PREFIX: "team a/",
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupError);
    expect((error as StartupError).message).toMatch(/^PLEXUS_KAFKA_TOPIC_PREFIX must be/);
  });

  it("fails the start, saying how to start a broker, when the cluster is unreachable", async () => {
    const port = await closedPort();
    const error = await open({ KAFKA_BROKERS: `127.0.0.1:${port}` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupError);
    expect((error as StartupError).fix).toMatch(/scripts\/kafka\.sh/);
  });

  it.runIf(kafka)("connects to Kafka when KAFKA_BROKERS names a cluster", async () => {
    const broker = await open({ KAFKA_BROKERS: new URL(serverUrl("kafka")).host });
    expect(broker.kind).toBe("kafka");
    await broker.close();
  });
});
