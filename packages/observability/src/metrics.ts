import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { createBoundedLabel, methodLabel } from "./bounded-label.ts";

export interface MetricsOptions {
  /**
   * Prefix of every metric name. Default `plexus_`: keeps Plexus's series apart from anything else
   * scraped from the same process.
   */
  prefix?: string;
  /**
   * Labels stamped on every series (e.g. `{ host: "orders-1" }`). Default none: the scraper usually
   * adds instance labels itself.
   */
  defaultLabels?: Record<string, string>;
  /**
   * Whether to collect prom-client's default process metrics (CPU, memory, event-loop lag, GC).
   * Default `true`: API.md wants them on every process; tests that create many registries may
   * turn them off.
   */
  processMetrics?: boolean;
  /**
   * Histogram buckets in seconds for request and call durations. Default: 1 ms … 10 s, enough
   * resolution for both an in-process call and a saga's slow upstream.
   */
  durationBucketsSeconds?: readonly number[];
  /**
   * Most distinct values one externally-fed label (route, caller, callee, RPC method) may take
   * before new ones fold into `__other__`. Default 500: far above any real topology, low enough
   * that a bug feeding raw paths cannot exhaust memory.
   */
  maxLabelValues?: number;
}

/** Breaker states as the `circuitState` gauge encodes them. */
export const circuitStateValues = { closed: 0, "half-open": 1, open: 2 } as const;
export type CircuitStateName = keyof typeof circuitStateValues;

export interface HttpRequestObservation {
  method: string;
  /** The route TEMPLATE (`/api/v1/users/:id`), never the raw path: one series per route. */
  route: string;
  status: number;
  durationMs: number;
}

export interface RpcClientCallObservation {
  /** Calling service (`gateway`, `orders`). */
  caller: string;
  /** Called service (`catalog`). */
  callee: string;
  /** RPC method name (`ReserveStock`). */
  method: string;
  /** Outcome: `ok` or the error code's name (`unavailable`). */
  code: string;
  durationMs: number;
}

export interface DeliveryObservation {
  /** Consumer group (`notifications.order-outcomes`). */
  group: string;
  /** `processed`, `duplicate` (the inbox had it) or `failed` (nacked). */
  outcome: string;
  /** Delivery start minus the event's time. */
  lagMs: number;
}

/** One process's metrics, on its own Registry (several hosts and tests may coexist). */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly httpRequestDuration: Histogram<"method" | "route" | "status">;
  readonly rpcClientCalls: Counter<"caller" | "callee" | "method" | "code">;
  readonly rpcClientDuration: Histogram<"caller" | "callee" | "method" | "code">;
  /** Per callee: 0 closed, 1 half-open, 2 open (see {@link circuitStateValues}). */
  readonly circuitState: Gauge<"callee">;
  /** Records one served HTTP request (bounded labels applied here). */
  observeHttpRequest(observation: HttpRequestObservation): void;
  /** Records one outgoing RPC (bounded labels applied here). */
  observeRpcClientCall(observation: RpcClientCallObservation): void;
  /**
   * Reads every breaker's state at each scrape, so a callee's gauge exists (closed) from its
   * first call on, not only after its first state change. The host passes its pipeline's
   * snapshot; the last reader given wins.
   */
  readCircuitStates(read: () => Iterable<readonly [callee: string, state: CircuitStateName]>): void;
  /** Counts one retry (or hedge) the client pipeline scheduled towards `callee`. */
  countRetry(callee: string, kind: "retry" | "hedge"): void;
  /** Counts one call a policy refused (open circuit, full bulkhead, exhausted budget …). */
  countRejection(callee: string, policy: string, reason: string): void;
  /** Records one event delivery to a consumer group: its outcome and its queue lag. */
  observeDelivery(observation: DeliveryObservation): void;
  /** Counts one event moved to a dead-letter store. */
  countDeadLetter(group: string): void;
  /**
   * Reads each projection's lag (log head minus checkpoint, `service.projection` → events) at each
   * scrape. The host passes its runners' statuses; the last reader given wins.
   */
  readProjectionLags(
    read: () => Promise<Iterable<readonly [projection: string, lag: number]>>,
  ): void;
  /** Counts one failed look of a projection (an `apply` threw, or its database failed). */
  countProjectionFailure(projection: string): void;
  /** The registry in Prometheus text format, ready to serve on `GET /metrics`. */
  render(): Promise<{ contentType: string; body: string }>;
}

const defaultBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Creates the standard Plexus metrics on a fresh Registry (never prom-client's global one).
 *
 * @example
 * const metrics = createMetrics();
 * metrics.observeHttpRequest({ method: "GET", route: "/api/v1/products/:id", status: 200, durationMs: 3 });
 * const { contentType, body } = await metrics.render();
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const prefix = options.prefix ?? "plexus_";
  const buckets = [...(options.durationBucketsSeconds ?? defaultBuckets)];
  const maxLabelValues = options.maxLabelValues ?? 500;

  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix });

  const httpRequests = new Counter({
    name: `${prefix}http_requests_total`,
    help: "HTTP requests served, by method, route template and status.",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const httpRequestDuration = new Histogram({
    name: `${prefix}http_request_duration_seconds`,
    help: "HTTP request duration in seconds, by method, route template and status.",
    labelNames: ["method", "route", "status"] as const,
    buckets,
    registers: [registry],
  });
  const rpcClientCalls = new Counter({
    name: `${prefix}rpc_client_calls_total`,
    help: "Outgoing RPC calls, by caller, callee, method and result code.",
    labelNames: ["caller", "callee", "method", "code"] as const,
    registers: [registry],
  });
  const rpcClientDuration = new Histogram({
    name: `${prefix}rpc_client_duration_seconds`,
    help: "Outgoing RPC call duration in seconds, by caller, callee, method and result code.",
    labelNames: ["caller", "callee", "method", "code"] as const,
    buckets,
    registers: [registry],
  });
  let readCircuits: (() => Iterable<readonly [string, CircuitStateName]>) | undefined;
  const circuitState = new Gauge({
    name: `${prefix}circuit_state`,
    help: "Circuit breaker state per callee: 0 closed, 1 half-open, 2 open.",
    labelNames: ["callee"] as const,
    registers: [registry],
    collect() {
      for (const [name, state] of readCircuits?.() ?? []) {
        this.set({ callee: callee(name) }, circuitStateValues[state]);
      }
    },
  });

  const retries = new Counter({
    name: `${prefix}rpc_client_retries_total`,
    help: "Retries and hedges scheduled by the client pipeline, by callee and kind.",
    labelNames: ["callee", "kind"] as const,
    registers: [registry],
  });
  const rejections = new Counter({
    name: `${prefix}rpc_client_rejections_total`,
    help: "Calls refused by a resilience policy before reaching the callee, by callee, policy and reason.",
    labelNames: ["callee", "policy", "reason"] as const,
    registers: [registry],
  });
  const eventDeliveries = new Counter({
    name: `${prefix}event_deliveries_total`,
    help: "Event deliveries to consumer groups, by group and outcome.",
    labelNames: ["group", "outcome"] as const,
    registers: [registry],
  });
  const eventLag = new Histogram({
    name: `${prefix}event_lag_seconds`,
    help: "Queue lag of delivered events (delivery start minus event time), by consumer group.",
    labelNames: ["group"] as const,
    buckets,
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: `${prefix}dead_letters_total`,
    help: "Events moved to a dead-letter store, by consumer group.",
    labelNames: ["group"] as const,
    registers: [registry],
  });

  const route = createBoundedLabel(maxLabelValues);
  const group = createBoundedLabel(maxLabelValues);
  const caller = createBoundedLabel(maxLabelValues);
  const callee = createBoundedLabel(maxLabelValues);
  const projection = createBoundedLabel(maxLabelValues);
  let readProjections: (() => Promise<Iterable<readonly [string, number]>>) | undefined;
  new Gauge({
    name: `${prefix}projection_lag_events`,
    help: "Events of its log a projection has not applied yet (log head minus checkpoint), by projection.",
    labelNames: ["projection"] as const,
    registers: [registry],
    async collect() {
      for (const [name, lag] of (await readProjections?.()) ?? []) {
        this.set({ projection: projection(name) }, lag);
      }
    },
  });
  const projectionFailures = new Counter({
    name: `${prefix}projection_failures_total`,
    help: "Failed looks of a projection at its log (a throwing apply, or its database), by projection.",
    labelNames: ["projection"] as const,
    registers: [registry],
  });

  const rpcMethod = createBoundedLabel(maxLabelValues);
  // Codes are a closed set in Plexus, but the label is fed a string: bound it anyway.
  const code = createBoundedLabel(64);

  const rpcSeries = createSeriesCache((callerName, calleeName, methodName, codeName) => {
    const labels = {
      caller: caller(callerName),
      callee: callee(calleeName),
      method: rpcMethod(methodName),
      code: code(codeName),
    };
    const series = {
      calls: rpcClientCalls.labels(labels),
      duration: rpcClientDuration.labels(labels),
    };
    // A folded or cut label is a value the bound refused: keep it out of the cache, which
    // would otherwise grow with every raw value that folds into `__other__`.
    const cacheable =
      labels.caller === callerName &&
      labels.callee === calleeName &&
      labels.method === methodName &&
      labels.code === codeName;
    return { series, cacheable };
  });

  return {
    registry,
    httpRequests,
    httpRequestDuration,
    rpcClientCalls,
    rpcClientDuration,
    circuitState,
    observeHttpRequest(o) {
      const labels = {
        method: methodLabel(o.method),
        route: route(o.route),
        status: statusLabel(o.status),
      };
      httpRequests.inc(labels);
      httpRequestDuration.observe(labels, o.durationMs / 1000);
    },
    observeRpcClientCall(o) {
      const series = rpcSeries.get(o.caller, o.callee, o.method, o.code);
      series.calls.inc();
      series.duration.observe(o.durationMs / 1000);
    },
    readCircuitStates(read) {
      readCircuits = read;
    },
    countRetry(name, kind) {
      retries.inc({ callee: callee(name), kind });
    },
    countRejection(name, policy, reason) {
      rejections.inc({ callee: callee(name), policy: code(policy), reason: code(reason) });
    },
    observeDelivery(o) {
      const label = group(o.group);
      eventDeliveries.inc({ group: label, outcome: code(o.outcome) });
      eventLag.observe({ group: label }, Math.max(0, o.lagMs) / 1000);
    },
    countDeadLetter(name) {
      deadLetters.inc({ group: group(name) });
    },
    readProjectionLags(read) {
      readProjections = read;
    },
    countProjectionFailure(name) {
      projectionFailures.inc({ projection: projection(name) });
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

interface RpcSeries {
  readonly calls: { inc(): void };
  readonly duration: { observe(value: number): void };
}

/**
 * The series of each (caller, callee, method, code) seen, bound once: a call then costs four map
 * lookups instead of a label object, four label checks and two label hashes.
 */
function createSeriesCache(
  bind: (
    caller: string,
    callee: string,
    method: string,
    code: string,
  ) => { series: RpcSeries; cacheable: boolean },
): { get(caller: string, callee: string, method: string, code: string): RpcSeries } {
  const byCaller = new Map<string, Map<string, Map<string, Map<string, RpcSeries>>>>();
  return {
    get(caller, callee, method, code) {
      const cached = byCaller.get(caller)?.get(callee)?.get(method)?.get(code);
      if (cached !== undefined) return cached;
      const { series, cacheable } = bind(caller, callee, method, code);
      if (cacheable) {
        let byCallee = byCaller.get(caller);
        if (byCallee === undefined)
          byCaller.set(caller, (byCallee = new Map<string, Map<string, Map<string, RpcSeries>>>()));
        let byMethod = byCallee.get(callee);
        if (byMethod === undefined)
          byCallee.set(callee, (byMethod = new Map<string, Map<string, RpcSeries>>()));
        let byCode = byMethod.get(method);
        if (byCode === undefined) byMethod.set(method, (byCode = new Map<string, RpcSeries>()));
        byCode.set(code, series);
      }
      return series;
    },
  };
}

function statusLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : "other";
}
