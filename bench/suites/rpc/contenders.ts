import type { LocalRpcContender, RpcContender } from "./contender.ts";
import { moleculerLocal } from "./moleculer-local.ts";
import { moleculerNats } from "./moleculer-nats.ts";
import { plexusLocal } from "./plexus-local.ts";
import { plexusGrpc } from "./plexus-grpc.ts";
import { plexus } from "./plexus.ts";
import { rawConnect } from "./raw-connect.ts";
import { rawGrpcJs } from "./raw-grpc-js.ts";
import { rawUndici } from "./raw-undici.ts";

/** Calls kept in flight by the load generator, for every contender. */
export const inFlight = 32;

/**
 * The `rpc` suite's network contenders by result name (DESIGN.md "How we measure"), baseline
 * first: each one's server runs in a process of its own.
 */
export const rpcContenders: Readonly<Record<string, RpcContender>> = {
  "raw-undici": rawUndici({ connections: inFlight }),
  "raw-connect": rawConnect({ connections: inFlight }),
  "raw-grpc-js": rawGrpcJs(),
  "moleculer-nats": moleculerNats(),
  plexus: plexus({ telemetry: true }),
  "plexus-no-telemetry": plexus({ telemetry: false }),
  "plexus-grpc": plexusGrpc(),
};

/** The in-process contenders by result name: measured in the bench process itself. */
export const localRpcContenders: Readonly<Record<string, LocalRpcContender>> = {
  "moleculer-local": moleculerLocal(),
  "plexus-local": plexusLocal(),
};
