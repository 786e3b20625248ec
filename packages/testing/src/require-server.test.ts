import { createServer, type Server } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { requireServer, serverAvailable, serverUrl } from "./require-server.ts";

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : 0);
    });
  });
}

describe("serverAvailable / requireServer", () => {
  const open = createServer((socket) => socket.destroy());
  let openPort = 0;
  let closedPort = 0;
  const savedCi = process.env["CI"];

  beforeAll(async () => {
    openPort = await listen(open);
    // A port that was just free and is closed again: nothing listens there.
    const probe = createServer();
    closedPort = await listen(probe);
    await new Promise((r) => probe.close(r));
  });
  afterAll(async () => {
    await new Promise((r) => open.close(r));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    if (savedCi === undefined) delete process.env["CI"];
    else process.env["CI"] = savedCi;
  });

  it("probes the port of a URL", async () => {
    expect(await serverAvailable("redis", `redis://127.0.0.1:${openPort}`)).toBe(true);
    expect(await serverAvailable("redis", { url: `redis://127.0.0.1:${closedPort}` })).toBe(false);
  });

  it("counts an aborted probe as unreachable", async () => {
    const url = `redis://127.0.0.1:${openPort}`;
    expect(await serverAvailable("redis", { url, signal: AbortSignal.abort() })).toBe(false);
  });

  it("returns true quietly when the server is reachable", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    process.env["CI"] = "true";
    expect(await requireServer("nats", `nats://127.0.0.1:${openPort}`)).toBe(true);
    expect(warn).not.toHaveBeenCalled();
  });

  it("outside CI, warns loudly and returns false so the suite skips", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    delete process.env["CI"];
    expect(await requireServer("postgres", `postgres://127.0.0.1:${closedPort}/x`)).toBe(false);
    expect(warn).toHaveBeenCalledOnce();
    const message = String(warn.mock.calls[0]?.[0]);
    expect(message).toContain("SKIPPING");
    expect(message).toContain(`postgres at 127.0.0.1:${closedPort}`);
    expect(message).toContain("pg_ctlcluster");
  });

  it("under CI=true, a missing server is a failure", async () => {
    process.env["CI"] = "true";
    await expect(requireServer("rabbitmq", `amqp://127.0.0.1:${closedPort}`)).rejects.toThrow(
      /rabbitmq at 127\.0\.0\.1:\d+ is not reachable.*CI=true/,
    );
  });

  it("has local defaults on the standard ports, overridable per server by env", () => {
    const saved = process.env["PLEXUS_TEST_REDIS_URL"];
    try {
      delete process.env["PLEXUS_TEST_REDIS_URL"];
      expect(serverUrl("postgres")).toBe("postgres://postgres@127.0.0.1:5432/postgres");
      expect(serverUrl("nats")).toBe("nats://127.0.0.1:4222");
      expect(new URL(serverUrl("rabbitmq")).port).toBe("5672");
      expect(serverUrl("redis")).toBe("redis://127.0.0.1:6379");
      process.env["PLEXUS_TEST_REDIS_URL"] = "redis://10.0.0.9:7000";
      expect(serverUrl("redis")).toBe("redis://10.0.0.9:7000");
    } finally {
      if (saved === undefined) delete process.env["PLEXUS_TEST_REDIS_URL"];
      else process.env["PLEXUS_TEST_REDIS_URL"] = saved;
    }
  });

  it("finds Kafka through KAFKA_BROKERS, as Plexus does", () => {
    const saved = process.env["KAFKA_BROKERS"];
    try {
      delete process.env["KAFKA_BROKERS"];
      expect(serverUrl("kafka")).toBe("kafka://127.0.0.1:9092");
      process.env["KAFKA_BROKERS"] = "10.0.0.7:9093, 10.0.0.8:9093";
      expect(serverUrl("kafka")).toBe("kafka://10.0.0.7:9093");
    } finally {
      if (saved === undefined) delete process.env["KAFKA_BROKERS"];
      else process.env["KAFKA_BROKERS"] = saved;
    }
  });
});
