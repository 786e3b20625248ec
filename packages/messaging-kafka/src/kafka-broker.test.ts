import { createServer } from "node:net";
import { StartupError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { createKafkaBroker } from "./kafka-broker.ts";

/** A loopback port nothing listens on: bound, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address ? address.port : 0;
}

describe("createKafkaBroker", () => {
  it("fails at once, saying how to start a broker, when the cluster is unreachable", async () => {
    const port = await closedPort();
    const error = await createKafkaBroker({ brokers: [`127.0.0.1:${port}`] }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StartupError);
    expect((error as StartupError).problem).toBe(`Kafka is not reachable at 127.0.0.1:${port}`);
    expect((error as StartupError).fix).toMatch(/scripts\/kafka\.sh.*KAFKA_BROKERS/);
  });
});
