import { execFile } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const script = resolve(import.meta.dirname, "../../../scripts/kafka.sh");
const run = promisify(execFile);

/**
 * A single-node Kafka broker of one test's own (scripts/kafka.sh as a private instance: its own
 * ports and directory, the cached jars), for tests that stop and start the server. The shared
 * broker on 9092 is never stopped: other suites use it.
 */
export interface PrivateKafka {
  /** `127.0.0.1:<port>`, what `KAFKA_BROKERS` would list. */
  readonly broker: string;
  /** Stops the server cleanly (SIGTERM) and waits until it is gone. */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL, a crash) and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data, and waits until it accepts connections. */
  start(): Promise<void>;
  /** Kills it and removes its directory. */
  remove(): Promise<void>;
}

/**
 * Starts a private broker (formatting its storage first) and resolves once it accepts
 * connections: a JVM start, several seconds, so keep the tests that need one few. It dies, and its
 * directory goes, with the test process at the latest (the server runs detached, outside the
 * process group).
 */
export async function startPrivateKafka(): Promise<PrivateKafka> {
  const dir = await mkdtemp(join(tmpdir(), "plexus-kafka-"));
  const [port, controllerPort] = await freePorts(2);
  const env = {
    ...process.env,
    PLEXUS_KAFKA_PORT: String(port),
    PLEXUS_KAFKA_CONTROLLER_PORT: String(controllerPort),
    PLEXUS_KAFKA_DIR: dir,
    // A test's broker holds a few topics: a smaller heap than the shared one's.
    KAFKA_HEAP_OPTS: "-Xms64m -Xmx256m",
  };
  const kafkaSh = async (command: "start" | "stop" | "kill"): Promise<void> => {
    try {
      await run("bash", [script, command], { env, timeout: 120_000 });
    } catch (error) {
      const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
      throw new Error(`scripts/kafka.sh ${command} failed:\n${stdout}${stderr}`, { cause: error });
    }
  };
  /** The last resort of a test process ending without `remove()` (a timed-out hook). */
  const killNow = (): void => {
    try {
      process.kill(Number(readFileSync(join(dir, "kafka.pid"), "utf8")), "SIGKILL");
    } catch {
      // never started, or already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", killNow);
  process.once("SIGTERM", killNow);
  let removed = false;
  const kafka: PrivateKafka = {
    broker: `127.0.0.1:${port}`,
    stop: () => kafkaSh("stop"),
    kill: () => kafkaSh("kill"),
    start: () => kafkaSh("start"),
    async remove() {
      if (removed) return;
      removed = true;
      await kafkaSh("kill");
      process.off("exit", killNow);
      process.off("SIGTERM", killNow);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await kafka.start();
  } catch (error) {
    await kafka.remove();
    throw error;
  }
  return kafka;
}

/** Loopback ports nothing listens on, bound at once (so distinct), then released. */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  await Promise.all(
    servers.map((s) => new Promise<void>((done) => s.listen(0, "127.0.0.1", done))),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  return ports;
}
