import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import {
  Code,
  PlexusError,
  createHealthRegistry,
  createLifecycle,
  createLogger,
  systemClock,
  type ClientFactory,
  type Clock,
  type HealthRegistry,
  type Lifecycle,
  type Logger,
  type ServiceInstance,
  type Transport,
} from "@plexus/core";
import { createMetrics, rpcMetricsInterceptor } from "@plexus/observability";
import {
  createClient,
  createInProcessTransport,
  createRpcServer,
  type ServiceBinding,
} from "@plexus/rpc";
import { openStorage, type Storage } from "@plexus/storage";
import type { EdgeApp, HostSpec } from "./topology.ts";

export interface HostOptions {
  readonly spec: HostSpec;
  /** Environment the host reads (PORT, PLEXUS_DATA_DIR, DATABASE_URL, …). Default: `process.env`. */
  readonly config?: Readonly<Record<string, string | undefined>>;
  /** Port of the edge; 0 picks a free one (tests). Default: `PORT`, else 8080. */
  readonly port?: number;
  /** Address to bind. Default: `PLEXUS_HOST`, else 127.0.0.1 (never exposed by accident). */
  readonly hostname?: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /**
   * How the process ends after a stop. Default `process.exit` (what `plexus up` wants); an
   * embedding that must outlive the host (a test) passes a no-op.
   */
  readonly exit?: (code: number) => void;
}

/** A started host. */
export interface Host extends AsyncDisposable {
  /** The edge's address, when the host serves one. */
  readonly url: string | undefined;
  /** Where the hosted services answer Connect protocol calls (HTTP/1.1 and h2c), when `PLEXUS_RPC_PORT` is set. */
  readonly rpcUrl: string | undefined;
  readonly lifecycle: Lifecycle;
  /** Liveness and readiness of the host: storage and every hosted service. */
  readonly health: HealthRegistry;
  /** Graceful stop: refuse new work, drain in-flight calls, close services and storage. */
  close(): Promise<void>;
}

// Calls placed before every local service is built (e.g. from a service's own start-up) would
// otherwise race the host's construction; they fail as UNAVAILABLE, which callers already retry.
function createLateTransport(): Transport & { bind(target: Transport): void } {
  let target: Transport | undefined;
  return {
    bind(t) {
      target = t;
    },
    unary(request) {
      if (!target) {
        return Promise.reject(new PlexusError(Code.Unavailable, "service is starting"));
      }
      return target.unary(request);
    },
  };
}

/**
 * Starts one host: opens storage (one PGlite per process, or Postgres), migrates and starts each
 * service, wires typed clients (in-process for co-hosted services) and serves the edge on `PORT`.
 */
export async function startHost(options: HostOptions): Promise<Host> {
  const { spec } = options;
  const config = options.config ?? process.env;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ name: spec.name });
  const metrics = createMetrics();
  const hostname = options.hostname ?? config["PLEXUS_HOST"] ?? "127.0.0.1";
  const lifecycle = createLifecycle({
    logger,
    ...(options.exit ? { exit: options.exit } : {}),
    clock,
  });
  const health = createHealthRegistry({ stopping: lifecycle.signal, clock });

  const storage: Storage = await openStorage({
    dataDir: config["PLEXUS_DATA_DIR"] ?? ".data",
    ...(config["DATABASE_URL"] ? { databaseUrl: config["DATABASE_URL"] } : {}),
    logger,
  });
  lifecycle.onStop("storage", () => storage.close());
  health.addReadiness("storage", () => storage.ping());

  const local = createLateTransport();
  const localContracts = new Set(spec.services.map((s) => s.contract.typeName));
  const clientsFor = (caller: string): ClientFactory => ({
    client<S extends DescService>(contract: S) {
      if (!localContracts.has(contract.typeName)) {
        throw new TypeError(
          `${caller}: no route to ${contract.typeName}; place its service in this host's topology`,
        );
      }
      return createClient(contract, local, {
        caller,
        clock,
        interceptors: [rpcMetricsInterceptor(metrics, caller)],
      });
    },
  });

  const instances: { name: string; instance: ServiceInstance<DescService> }[] = [];
  for (const definition of spec.services) {
    const db = await storage.forService(definition.name, definition.migrations);
    const instance = await definition.create({
      name: definition.name,
      db,
      clients: clientsFor(definition.name),
      logger: logger.child({ service: definition.name }),
      clock,
      config,
    });
    instances.push({ name: definition.name, instance });
    const { close: closeService } = instance;
    if (closeService) lifecycle.onStop(`service ${definition.name}`, () => closeService());
    if (instance.ready) health.addReadiness(definition.name, instance.ready);
    else health.addReadiness(definition.name, () => true);
  }
  const bindings: ServiceBinding[] = spec.services.map((definition, i) => ({
    contract: definition.contract,
    handlers: instances[i]!.instance.handlers,
  }));
  local.bind(createInProcessTransport({ services: bindings, clock, logger }));

  let rpcUrl: string | undefined;
  const rpcPort = config["PLEXUS_RPC_PORT"];
  if (rpcPort !== undefined && rpcPort !== "") {
    const rpcServer = await createRpcServer({
      services: bindings,
      port: parsePort(rpcPort, "PLEXUS_RPC_PORT"),
      host: hostname,
      clock,
      logger,
      serviceName: spec.name,
    });
    rpcUrl = rpcServer.address().url;
    lifecycle.onStop("rpc server", () => rpcServer.close());
    logger.info({ url: rpcUrl }, "rpc listening");
  }

  let url: string | undefined;
  if (spec.edge) {
    const edge: EdgeApp = await spec.edge({
      clients: clientsFor("gateway"),
      logger: logger.child({ component: "edge" }),
      clock,
      metrics,
      config,
      health,
    });
    const server = createServer({ keepAliveTimeout: 5_000 }, edge.listener);
    if (edge.handleClientError) server.on("clientError", edge.handleClientError);
    await listen(server, options.port ?? parsePort(config["PORT"] ?? "8080", "PORT"), hostname);
    const address = server.address() as AddressInfo;
    url = `http://${address.address}:${address.port}`;
    // Registered last so it stops first: refuse new requests, drain in-flight ones.
    if (edge.close) lifecycle.onStop("edge", () => edge.close?.());
    lifecycle.onStop("http server", () => closeServer(server));
    logger.info({ url }, "edge listening");
  }

  const close = async (): Promise<void> => {
    await lifecycle.stop("close");
  };
  return { url, rpcUrl, lifecycle, health, close, [Symbol.asyncDispose]: close };
}

function parsePort(value: string, name: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError(`${name} must be a port number (0-65535), got "${value}"`);
  }
  return port;
}

function listen(server: Server, port: number, hostname: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}
