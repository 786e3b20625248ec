import { createServer } from "node:http";
import type { DescService } from "@bufbuild/protobuf";
import type { AddressInfo } from "node:net";
import {
  createHealthRegistry,
  createLogger,
  integerSetting,
  portSetting,
  systemClock,
  type ClientFactory,
  type Clock,
  type HealthRegistry,
  type Lifecycle,
  type Logger,
  type ServiceInstance,
} from "@plexus/core";
import { createConsumerRuntime, createOutbox, type DeadLetterAdmin } from "@plexus/messaging";
import { createMetrics, createTracing } from "@plexus/observability";
import {
  createHttpClients,
  createRpcServer,
  createServiceAuthenticator,
  type ServiceBinding,
} from "@plexus/rpc";
import type { SagaAdmin } from "@plexus/saga";
import { openStorage, type Storage, type StorageOptions } from "@plexus/storage";
import { closeServer, listen, listenFailure, type ListenSettings } from "./http-listen.ts";
import { createAdminApi } from "./admin-api.ts";
import { createHostResilience } from "./host-resilience.ts";
import { startProjections } from "./host-projections.ts";
import {
  deliveryInterceptors,
  httpUpstreamInterceptors,
  publishInterceptors,
  sagaStepInterceptors,
  serverInterceptors,
} from "./call-interceptors.ts";
import { createLocalClients } from "./local-clients.ts";
import { openBroker } from "./open-broker.ts";
import { loadServiceKey } from "./service-key.ts";
import { startOrUndo } from "./start-or-undo.ts";
import type { HostSpec } from "./topology.ts";

const edgeListenSettings: ListenSettings = { portSetting: "PORT", hostSetting: "PLEXUS_HOST" };
const rpcListenSettings: ListenSettings = {
  portSetting: "PLEXUS_RPC_PORT",
  hostSetting: "PLEXUS_RPC_HOST",
};

export interface HostOptions {
  readonly spec: HostSpec;
  /** Environment the host reads (PORT, PLEXUS_DATA_DIR, DATABASE_URL, …). Default: `process.env`. */
  readonly config?: Readonly<Record<string, string | undefined>>;
  /** Port of the edge; 0 picks a free one (tests). Default: `PORT`, else 8080. */
  readonly port?: number;
  /**
   * Address the edge binds. Default: `PLEXUS_HOST`, else 127.0.0.1 (never exposed by accident).
   * The RPC port has its own, `PLEXUS_RPC_HOST` (default 127.0.0.1).
   */
  readonly hostname?: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /**
   * How the process ends after a stop. Default `process.exit` (what `plexus up` wants); an
   * embedding that must outlive the host (a test) passes a no-op.
   */
  readonly exit?: (code: number) => void;
  /**
   * Opens the storage from the settings the host read. Default `openStorage`; a test wraps it
   * (e.g. to count every service's statements) without a second way to configure storage.
   */
  readonly openStorage?: (options: StorageOptions) => Promise<Storage>;
}

/** A started host. */
export interface Host extends AsyncDisposable {
  /** The edge's address, when the host serves one. */
  readonly url: string | undefined;
  /**
   * Where the hosted services answer Connect protocol calls (HTTP/1.1 and h2c), when
   * `PLEXUS_RPC_PORT` is set: on `PLEXUS_RPC_HOST` (default 127.0.0.1), every call
   * authenticated by a service token (ADR 13).
   */
  readonly rpcUrl: string | undefined;
  readonly lifecycle: Lifecycle;
  /** Typed clients of the hosted services, as `caller` (tools, tests, embedding code). */
  clientsFor(caller: string): ClientFactory;
  /** Liveness and readiness of the host: storage and every hosted service. */
  readonly health: HealthRegistry;
  /** Graceful stop: refuse new work, drain in-flight calls, close services and storage. */
  close(): Promise<void>;
}

/**
 * Starts one host: opens storage (one PGlite per process, or Postgres) and the broker (in-process,
 * or Kafka when `KAFKA_BROKERS` names a cluster: `openBroker`), migrates
 * and starts each service with its outbox and consumers, wires typed clients (in-process for
 * co-hosted services), serves the services over Connect (`PLEXUS_RPC_PORT`) and the edge on `PORT`.
 *
 * Every outgoing call — RPC clients and the services' HTTP upstreams (`env.http`) — runs through
 * one client pipeline state per host (per-callee breaker, retry budget, bulkhead; `spec.resilience`)
 * and is measured per (caller, callee).
 *
 * Tracing (one `createTracing` per host, service name `spec.name`, on when the config names an
 * OTLP endpoint, `OTEL_EXPORTER_OTLP_ENDPOINT`): a SERVER span per edge request and per handled
 * call (in process and over Connect), a CLIENT span per outgoing call and upstream request with
 * the resilience policies' retries, rejections and circuit changes as events, a PRODUCER span
 * per event the outbox relays publish, a CONSUMER span per delivery the consumers handle, and an
 * INTERNAL span per saga step try (`ServiceEnv.traceSagaStep`).
 *
 * Projections a service declares (`defineService({ projections })`) each get a runner that
 * catches up with the service's event log before the services start, then follows it (every
 * `PLEXUS_PROJECTION_POLL_MS`, default 1000, as the safety net of the wake-up each commit to the
 * log sends). A projection whose `apply` keeps throwing stalls (retried with backoff) and keeps
 * readiness false until it caught up, without holding the start (ADR 19).
 *
 * Each service's outbox relay holds its lease for `PLEXUS_OUTBOX_LEASE_MS` (default 15 000)
 * without renewal: on a shared Postgres, a crashed replica's relay is replaced that long after.
 *
 * Stop order (the lifecycle runs steps in reverse registration): refuse new HTTP and RPC work,
 * stop the services' own background work (sagas), drain the outboxes, stop the projections and
 * the consumers, close
 * the services' HTTP upstreams, close the broker, close storage, and last flush the spans.
 */
export async function startHost(options: HostOptions): Promise<Host> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ name: options.spec.name });
  return startOrUndo(
    { logger, clock, ...(options.exit ? { exit: options.exit } : {}) },
    (lifecycle) => assembleHost(options, lifecycle, clock, logger),
  );
}

async function assembleHost(
  options: HostOptions,
  lifecycle: Lifecycle,
  clock: Clock,
  logger: Logger,
): Promise<Host> {
  const { spec } = options;
  const config = options.config ?? process.env;
  // Settings are read before anything opens: a typo fails at once, not after the migrations.
  const port = options.port ?? portSetting(config, "PORT") ?? 8080;
  const rpcPort = portSetting(config, "PLEXUS_RPC_PORT");
  const projectionPollMs = integerSetting(config, "PLEXUS_PROJECTION_POLL_MS", 1);
  const outboxLeaseMs = integerSetting(config, "PLEXUS_OUTBOX_LEASE_MS", 1);
  const metrics = createMetrics();
  const hostname = options.hostname ?? config["PLEXUS_HOST"] ?? "127.0.0.1";
  const health = createHealthRegistry({ stopping: lifecycle.signal, clock });
  const dataDir = config["PLEXUS_DATA_DIR"] ?? ".data";
  // Before anything opens: a bad key fails the start, not the first call.
  const serviceKey =
    rpcPort !== undefined || config["PLEXUS_SERVICE_KEY"]
      ? await loadServiceKey({ config, dataDir, logger })
      : undefined;
  const tracing = await createTracing({ serviceName: spec.name, env: config });
  // Registered first, so it runs last: every span of the drained calls and consumers is exported.
  lifecycle.onStop("tracing", () => tracing.shutdown());

  const storage = await (options.openStorage ?? openStorage)({
    dataDir,
    ...(config["DATABASE_URL"] ? { databaseUrl: config["DATABASE_URL"] } : {}),
    logger,
  });
  lifecycle.onStop("storage", () => storage.close());
  health.addReadiness("storage", () => storage.ping());
  const broker = await openBroker({ config, hostName: spec.name, clock, logger });
  lifecycle.onStop("broker", () => broker.close());

  // One pipeline state for every outgoing call of the host, RPC and HTTP.
  const resilience = createHostResilience({
    clock,
    metrics,
    ...(spec.resilience ? { policies: spec.resilience } : {}),
  });
  lifecycle.onStop("client policies", () => resilience[Symbol.dispose]());
  const local = createLocalClients({
    contracts: spec.services.map((s) => s.contract),
    clock,
    metrics,
    resilience,
    tracing,
  });
  // Composed once per boundary (DESIGN.md convention 7); the HTTP ones per calling service.
  const publishing = publishInterceptors(tracing);
  const delivering = deliveryInterceptors({ metrics, tracing, clock });
  const sagaSteps = sagaStepInterceptors(tracing);
  // A service created but never started (a later step of the start failed) is closed here: its
  // own step is registered once it starts, where the stop order wants it.
  const unstarted = new Set<ServiceInstance<DescService>>();
  lifecycle.onStop("unstarted services", async () => {
    await Promise.all([...unstarted].map(async (instance) => instance.close?.()));
  });
  const started = [];
  for (const definition of spec.services) {
    const serviceLogger = logger.child({ service: definition.name });
    const db = await storage.forService(definition.name, definition.migrations);
    const outbox = createOutbox({
      db,
      broker,
      clock,
      logger: serviceLogger,
      interceptors: publishing,
      ...(outboxLeaseMs !== undefined ? { leaseTtlMs: outboxLeaseMs } : {}),
    });
    const http = createHttpClients({
      resilience,
      clock,
      interceptors: httpUpstreamInterceptors({ caller: definition.name, metrics, tracing }),
    });
    // Registered before the service's own close, so it runs after it (reverse order).
    lifecycle.onStop(`http ${definition.name}`, () => http.close());
    const instance = await definition.create({
      name: definition.name,
      db,
      outbox,
      clients: local.clientsFor(definition.name),
      http,
      logger: serviceLogger,
      clock,
      config,
      sagaStepInterceptors: sagaSteps,
    });
    unstarted.add(instance);
    started.push({ definition, db, outbox, instance, logger: serviceLogger });
    health.addReadiness(definition.name, instance.ready ?? (() => true));
  }
  const bindings: ServiceBinding[] = started.map(({ definition, instance }) => ({
    contract: definition.contract,
    handlers: instance.handlers,
  }));
  local.bind(bindings);

  const sagas = new Map<string, SagaAdmin>();
  for (const { definition, instance } of started) {
    if (instance.sagas) sagas.set(definition.name, instance.sagas);
  }
  const deadLetters = new Map<string, DeadLetterAdmin>();
  // Every consumer is subscribed before any outbox relays: the in-memory broker delivers to the
  // groups subscribed at publish time, so a relay starting first could deliver to nobody.
  for (const { definition, db, instance, logger: serviceLogger } of started) {
    if (!instance.consumers?.length) continue;
    const runtime = createConsumerRuntime({
      service: definition.name,
      db,
      broker,
      consumers: instance.consumers,
      clock,
      logger: serviceLogger,
      onDeadLetter: (report) => metrics.countDeadLetter(report.group),
      interceptors: delivering,
    });
    await runtime.start();
    deadLetters.set(definition.name, runtime.deadLetters);
    lifecycle.onStop(`consumers ${definition.name}`, () => runtime.close());
  }
  // Each projection caught up with its service's event log before the services start: a read
  // model is current when the host is ready.
  const projections = await startProjections({
    services: started,
    lifecycle,
    health,
    metrics,
    clock,
    pollIntervalMs: projectionPollMs,
  });
  for (const { definition, outbox } of started) {
    await outbox.start();
    lifecycle.onStop(`outbox ${definition.name}`, () => outbox.close());
  }
  for (const { definition, instance } of started) {
    await instance.start?.();
    const closeService = instance.close?.bind(instance);
    if (closeService) lifecycle.onStop(`service ${definition.name}`, closeService);
    unstarted.delete(instance);
  }

  let rpcUrl: string | undefined;
  if (rpcPort !== undefined && serviceKey !== undefined) {
    const rpcHost = config["PLEXUS_RPC_HOST"] || "127.0.0.1";
    const rpcServer = await createRpcServer({
      services: bindings,
      port: rpcPort,
      host: rpcHost,
      authenticator: createServiceAuthenticator({ key: serviceKey, clock }),
      clock,
      logger,
      serviceName: spec.name,
      interceptors: serverInterceptors(tracing),
    }).catch((error: unknown) => {
      throw listenFailure(error, rpcPort, rpcHost, rpcListenSettings);
    });
    rpcUrl = rpcServer.address().url;
    lifecycle.onStop("rpc server", () => rpcServer.close());
    logger.info({ url: rpcUrl }, "rpc listening");
  }

  let url: string | undefined;
  if (spec.edge) {
    const edge = await spec.edge({
      clients: local.clientsFor("gateway"),
      logger: logger.child({ component: "edge" }),
      clock,
      metrics,
      config,
      health,
      tracing,
    });
    // Registered before the listen, so a port in use still closes the edge's timers and pools.
    const closeEdge = edge.close?.bind(edge);
    if (closeEdge) lifecycle.onStop("edge", closeEdge);
    const admin = createAdminApi({
      token: config["PLEXUS_ADMIN_TOKEN"] || undefined,
      sagas,
      deadLetters,
      projections,
      health,
      metrics,
      logger: logger.child({ component: "admin" }),
    });
    const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
      if (req.url?.startsWith("/_plexus/")) admin.listener(req, res);
      else edge.listener(req, res);
    });
    if (edge.handleClientError) server.on("clientError", edge.handleClientError);
    await listen(server, port, hostname, edgeListenSettings);
    const address = server.address() as AddressInfo;
    url = `http://${address.address}:${address.port}`;
    lifecycle.onStop("http server", () => closeServer(server));
    logger.info({ url }, "edge listening");
  }

  const close = async (): Promise<void> => {
    await lifecycle.stop("close");
  };
  return {
    url,
    rpcUrl,
    lifecycle,
    health,
    clientsFor: (caller) => local.clientsFor(caller),
    close,
    [Symbol.asyncDispose]: close,
  };
}
