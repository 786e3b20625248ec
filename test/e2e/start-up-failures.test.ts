/**
 * `plexus up` that cannot start says why and what to do, in one line on stderr, and exits 1:
 * the real command on the real shop topology, one process per case. (A port in use by the RPC
 * server is packages/host's test: each start that fails late costs a whole start.)
 *
 * PGlite only (vitest.config.ts): every process here chooses its storage itself (`DATABASE_URL`,
 * embedded unless a case points it at a server), so a Postgres run would repeat this one.
 */
import { spawn } from "node:child_process";
import { access, mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "../support/http.ts";
import { removeDataDir, startShop, type ShopProcess } from "../support/shop-process.ts";

const root = resolve(import.meta.dirname, "../..");
/** Far above a start on a loaded machine: it only turns a hang into a clear failure. */
const exitTimeoutMs = 240_000;

interface Ended {
  readonly code: number | string;
  readonly stderrLines: string[];
  readonly output: string;
}

const dataDirs: string[] = [];

/** Runs `plexus up` on the shop topology until it exits (killed, and failed, past the bound). */
async function plexusUp(env: Record<string, string>): Promise<Ended> {
  const dataDir = await mkdtemp(join(tmpdir(), "plexus-start-failure-"));
  dataDirs.push(dataDir);
  const child = spawn(
    join(root, "node_modules/.bin/plexus"),
    ["up", "apps/shop/topology/monolith.ts"],
    {
      cwd: root,
      env: {
        ...process.env,
        PATH: `${join(root, "node_modules/.bin")}:${process.env["PATH"] ?? ""}`,
        PORT: "0",
        PLEXUS_DATA_DIR: dataDir,
        PLEXUS_LOG_LEVEL: "info",
        // Embedded storage unless the case says otherwise, whatever the suite runs on.
        DATABASE_URL: "",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), exitTimeoutMs);
  const code = await new Promise<number | string>((resolveExit) =>
    child.once("close", (exitCode, signal) => resolveExit(exitCode ?? signal ?? -1)),
  ).finally(() => clearTimeout(timer));
  return {
    code,
    stderrLines: stderr.split("\n").filter((line) => line !== ""),
    output: stdout + stderr,
  };
}

/** Exit 1, exactly `line` on stderr, and no stack trace anywhere. */
function expectOneLine(ended: Ended, line: string): void {
  expect(ended.stderrLines).toEqual([line]);
  expect(ended.code).toBe(1);
  expect(ended.output).not.toMatch(/^\s+at /m);
  expect(ended.output).not.toContain("node:internal");
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** The shop the "in use" cases collide with: its port and its data directory. */
let running: ShopProcess;

beforeAll(async () => {
  running = await startShop({ env: { DATABASE_URL: "" }, startTimeoutMs: 120_000 });
}, 150_000);

afterAll(async () => {
  await running?.stop();
  const dirs = running ? [running.dataDir, ...dataDirs] : dataDirs;
  await Promise.all(dirs.map((dir) => removeDataDir(dir)));
}, 60_000);

describe.concurrent("plexus up that cannot start", { timeout: exitTimeoutMs + 10_000 }, () => {
  it("PORT=abc", async () => {
    expectOneLine(
      await plexusUp({ PORT: "abc" }),
      'plexus: PORT must be an integer from 0 to 65535, got "abc": ' +
        "set PORT to an integer from 0 to 65535, or unset it for the default",
    );
  });

  it("a PLEXUS_RPC_PORT out of range", async () => {
    expectOneLine(
      await plexusUp({ PLEXUS_RPC_PORT: "70000" }),
      'plexus: PLEXUS_RPC_PORT must be an integer from 0 to 65535, got "70000": ' +
        "set PLEXUS_RPC_PORT to an integer from 0 to 65535, or unset it for the default",
    );
  });

  it("a numeric service setting that is not a number (read when the service starts)", async () => {
    expectOneLine(
      await plexusUp({ PLEXUS_ORDER_CHARGE_TIMEOUT_MS: "soon" }),
      'plexus: PLEXUS_ORDER_CHARGE_TIMEOUT_MS must be an integer of at least 1, got "soon": ' +
        "set PLEXUS_ORDER_CHARGE_TIMEOUT_MS to an integer of at least 1, or unset it for the default",
    );
  });

  it("DATABASE_URL pointing at a closed port", async () => {
    const port = await closedPort();
    expectOneLine(
      await plexusUp({ DATABASE_URL: `postgres://postgres:s3cret@127.0.0.1:${port}/shop` }),
      `plexus: cannot reach Postgres at postgres://postgres:***@127.0.0.1:${port}/shop ` +
        "(connection refused): start it, or set DATABASE_URL to a server that is running",
    );
  });

  it("KAFKA_BROKERS pointing at a closed port", async () => {
    const port = await closedPort();
    expectOneLine(
      await plexusUp({ KAFKA_BROKERS: `127.0.0.1:${port}` }),
      `plexus: Kafka is not reachable at 127.0.0.1:${port}: ` +
        "start a local broker with scripts/kafka.sh, or set KAFKA_BROKERS to a reachable cluster",
    );
  });

  it("a port in use", async () => {
    const { port } = new URL(running.url);
    expectOneLine(
      await plexusUp({ PORT: port }),
      `plexus: port ${port} is in use: set PORT to a free port or stop the process using it`,
    );
  });

  it("a data directory another plexus up is running on, which keeps running", async () => {
    expectOneLine(
      await plexusUp({ PLEXUS_DATA_DIR: running.dataDir }),
      `plexus: the data directory ${running.dataDir} is in use by process ${running.child.pid}: ` +
        "stop that process, or set PLEXUS_DATA_DIR to another directory",
    );
    // The failed start took nothing from the running one: its lock and its service stay.
    await access(join(running.dataDir, "storage.lock"));
    expect((await request(running.url, "/health/ready")).status).toBe(200);
  });
});
