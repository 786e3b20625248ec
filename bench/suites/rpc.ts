/**
 * `rpc`: unary calls per second of one small method — `GetProduct` of the shop's catalog
 * contract (apps/shop/gen), the same messages for every contender — with 32 calls in flight,
 * in the same run:
 * - `raw-undici` (baseline): node:http + an undici Pool, JSON, no framework;
 * - `raw-connect`: stock `@connectrpc/connect-node` server and client (HTTP/1.1, binary);
 * - `raw-grpc-js`: `@grpc/grpc-js` server and client, (de)serialised by the generated types;
 * - `moleculer-nats`: Moleculer 0.15 over its NATS transporter and the real NATS server
 *   (skipped, with a note, when NATS is down);
 * - `plexus`: Plexus's Connect server and network client with the host's pipeline, telemetry on
 *   (metrics, tracing into a discarding exporter);
 * - `plexus-no-telemetry`: the same, tracing off and no metrics.
 *
 * `plexus-grpc` is not measured: Plexus does not serve gRPC yet.
 *
 * The load generator is this process; each contender's server runs in its own child process
 * (`rpc/server.ts`), all on loopback, started once and stopped by PID at the end, also when the
 * run fails.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Candidate, Suite } from "../harness.ts";
import type { RpcClient } from "./rpc/contender.ts";
import { inFlight, rpcContenders } from "./rpc/contenders.ts";

/** How long a server process may take to accept calls. */
const startTimeoutMs = 30_000;
/** How long a server process may take to stop gracefully before it is killed. */
const stopTimeoutMs = 10_000;

interface ServerProcess {
  readonly child: ChildProcess;
  readonly endpoint: string;
}

function startServer(name: string, children: ChildProcess[]): Promise<ServerProcess> {
  const child = spawn(process.execPath, [join(import.meta.dirname, "rpc", "server.ts"), name], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise<ServerProcess>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} server did not start within ${startTimeoutMs} ms`)),
      startTimeoutMs,
    );
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} server exited (${code ?? signal})`));
    });
    createInterface({ input: child.stdout }).once("line", (line) => {
      clearTimeout(timer);
      resolve({ child, endpoint: (JSON.parse(line) as { endpoint: string }).endpoint });
    });
  });
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function stopServer({ child }: ServerProcess): Promise<void> {
  if (!running(child)) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
  await exited;
  clearTimeout(timer);
}

function candidate(name: string, server: ServerProcess): Candidate {
  const contender = rpcContenders[name]!;
  let client: RpcClient | undefined;
  return {
    name,
    op: () => client!.call(),
    async setup() {
      client = await contender.connect(server.endpoint);
    },
    async teardown() {
      try {
        await client?.close();
      } finally {
        await stopServer(server);
      }
    },
  };
}

export async function createSuite(): Promise<Suite> {
  const notes = ["plexus-grpc: not measured, Plexus does not serve gRPC yet"];
  const names: string[] = [];
  for (const [name, contender] of Object.entries(rpcContenders)) {
    const reason = await contender.unavailable?.();
    if (reason === undefined) names.push(name);
    else notes.push(`${name}: skipped, ${reason}`);
  }
  for (const note of notes) console.log(`note: ${note}`);

  // Every server started is killed by its PID, whatever happens to this run.
  const children: ChildProcess[] = [];
  const killAll = (): void => {
    for (const child of children) if (running(child)) child.kill("SIGKILL");
  };
  process.once("exit", killAll);
  let servers: ServerProcess[];
  try {
    servers = await Promise.all(names.map((name) => startServer(name, children)));
  } catch (error) {
    killAll();
    throw error;
  }
  const [baseline, ...candidates] = names.map((name, i) => candidate(name, servers[i]!));
  return {
    name: "rpc",
    concurrency: inFlight,
    baseline: baseline!,
    candidates,
    description: {
      measures: `unary GetProduct calls per second, ${inFlight} in flight, p50/p99 per call`,
      contract: "shop.catalog.v1.CatalogService/GetProduct (apps/shop/gen)",
      processes: "load generator (this process) and one server process per contender, loopback",
      json: "raw-undici and moleculer-nats send the messages' proto3 JSON form (JSON.stringify)",
      telemetry:
        "plexus: client metrics (prom-client) and tracing on both sides (OpenTelemetry SDK, " +
        "SimpleSpanProcessor into an exporter that drops the spans)",
      omitted: notes.join("; "),
    },
  };
}
