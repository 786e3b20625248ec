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
 * - `plexus-no-telemetry`: the same, tracing off and no metrics;
 * - `plexus-grpc`: Plexus's server answering gRPC (host interceptors, tracing off, service
 *   identity) to the same grpc-js client as `raw-grpc-js`, which it is compared with.
 *
 * - `moleculer-local`: a Moleculer local action call (one broker, its defaults);
 * - `plexus-local`: a call through Plexus's in-process transport with the host's client
 *   resilience pipeline, telemetry off.
 *
 * The load generator is this process; each network contender's server runs in its own child
 * process (`rpc/server.ts`), all on loopback, started once and stopped by PID at the end, also
 * when the run fails. The in-process contenders run in this process, under the same load loop.
 */
import { join } from "node:path";
import { startChildServer, type ChildServer } from "../child-server.ts";
import type { Candidate, Suite } from "../harness.ts";
import type { RpcClient } from "./rpc/contender.ts";
import { inFlight, localRpcContenders, rpcContenders } from "./rpc/contenders.ts";

type ServerProcess = ChildServer<{ endpoint: string }>;

function startServer(name: string): Promise<ServerProcess> {
  return startChildServer({
    name,
    script: join(import.meta.dirname, "rpc", "server.ts"),
    args: [name],
  });
}

function candidate(name: string, server: ServerProcess): Candidate {
  const contender = rpcContenders[name]!;
  let client: RpcClient | undefined;
  return {
    name,
    op: () => client!.call(),
    async setup() {
      client = await contender.connect(server.ready.endpoint);
    },
    async teardown() {
      try {
        await client?.close();
      } finally {
        await server.stop();
      }
    },
  };
}

function localCandidate(name: string): Candidate {
  const contender = localRpcContenders[name]!;
  let client: RpcClient | undefined;
  return {
    name,
    op: () => client!.call(),
    async setup() {
      client = await contender.start();
    },
    teardown: () => client?.close(),
  };
}

export async function createSuite(): Promise<Suite> {
  const notes: string[] = [];
  const names: string[] = [];
  for (const [name, contender] of Object.entries(rpcContenders)) {
    const reason = await contender.unavailable?.();
    if (reason === undefined) names.push(name);
    else notes.push(`${name}: skipped, ${reason}`);
  }
  for (const note of notes) console.log(`note: ${note}`);

  // A server that did start is stopped by the run's end (startChildServer kills it on exit).
  const servers = await Promise.all(names.map((name) => startServer(name)));
  const [baseline, ...candidates] = [
    ...names.map((name, i) => candidate(name, servers[i]!)),
    ...Object.keys(localRpcContenders).map(localCandidate),
  ];
  return {
    name: "rpc",
    concurrency: inFlight,
    baseline: baseline!,
    candidates,
    description: {
      measures: `unary GetProduct calls per second, ${inFlight} in flight, p50/p99 per call`,
      contract: "shop.catalog.v1.CatalogService/GetProduct (apps/shop/gen)",
      processes:
        "load generator (this process) and one server process per network contender, loopback; " +
        "moleculer-local and plexus-local in the load generator's process",
      json: "raw-undici and moleculer-nats send the messages' proto3 JSON form (JSON.stringify)",
      telemetry:
        "plexus: client metrics (prom-client) and tracing on both sides (OpenTelemetry SDK, " +
        "BatchSpanProcessor, as a host exports to OTLP, into an exporter that drops the spans)",
      omitted: notes.join("; "),
    },
  };
}
