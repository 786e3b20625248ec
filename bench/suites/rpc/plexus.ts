/**
 * `plexus` and `plexus-no-telemetry`: Plexus's own Connect server (`createRpcServer`) and network
 * transport (`createNetworkTransport` + `createClient`, binary protobuf over an undici Pool),
 * wired as a host wires them (see `@plexus/host`'s `startHost`):
 * - client interceptors `[metrics, tracing, ...resilience]`, the resilience pipeline of
 *   `createClientResilience` with its defaults (retry, retry budget, circuit breaker, bulkhead,
 *   per-try timeout) and its hooks feeding the metrics and the call's span events;
 * - server interceptors `[server tracing]`;
 * - with telemetry, tracing records every span on both sides (OpenTelemetry SDK, each ended span
 *   handed to an exporter that drops it) and the client metrics record every call (prom-client);
 *   without, tracing is off (its interceptors step aside, as in a host without an OTLP endpoint)
 *   and there are neither metrics nor hooks.
 */
import { Code, PlexusError, type ServiceHandlers } from "@plexus/core";
import {
  createMetrics,
  createTracing,
  resilienceSpanEvents,
  rpcClientTracingInterceptor,
  rpcMetricsInterceptor,
  rpcServerTracingInterceptor,
  type CircuitStateName,
  type Tracing,
  type TracingOptions,
} from "@plexus/observability";
import { createClientResilience, type CircuitState } from "@plexus/resilience";
import { bindService, createClient, createNetworkTransport, createRpcServer } from "@plexus/rpc";
import type { RpcContender } from "./contender.ts";
import { CatalogService, checkProductId, productId, request, response } from "./product.ts";

/** Receives every ended span and drops it: tracing records, nothing leaves the process. */
const discardSpans: NonNullable<TracingOptions["exporter"]> = {
  export(_spans, done) {
    done({ code: 0 });
  },
  shutdown: () => Promise.resolve(),
};

function startTracing(serviceName: string, telemetry: boolean): Promise<Tracing> {
  return telemetry
    ? createTracing({ serviceName, exporter: discardSpans })
    : createTracing({ serviceName, env: {} });
}

/** The circuit gauge's value of a breaker state, as the host reports it. */
function circuitGauge(state: CircuitState): CircuitStateName {
  if (state === "open" || state === "forced-open") return "open";
  return state === "half-open" ? "half-open" : "closed";
}

type CatalogHandlers = ServiceHandlers<typeof CatalogService>;

/** Only `GetProduct` is served: methods without a handler answer `unimplemented`. */
const served: Partial<CatalogHandlers> = {
  async getProduct({ id }) {
    if (id !== productId) throw new PlexusError(Code.NotFound, "no such product");
    return response;
  },
};

export function plexus(options: { telemetry: boolean }): RpcContender {
  const { telemetry } = options;
  return {
    async serve() {
      const tracing = await startTracing("bench-catalog", telemetry);
      const server = await createRpcServer({
        services: [bindService(CatalogService, served as CatalogHandlers)],
        serviceName: "bench-catalog",
        interceptors: [rpcServerTracingInterceptor(tracing)],
      });
      return {
        endpoint: server.address().url,
        async close() {
          await server.close();
          await tracing.shutdown();
        },
      };
    },
    async connect(endpoint) {
      const caller = "bench-client";
      const tracing = await startTracing(caller, telemetry);
      const transport = createNetworkTransport({ baseUrl: endpoint });
      let resilience;
      let interceptors;
      if (telemetry) {
        const metrics = createMetrics();
        const spanEvents = resilienceSpanEvents();
        resilience = createClientResilience({
          onStateChange(event) {
            metrics.setCircuitState(event.callee, circuitGauge(event.to));
            spanEvents.onStateChange(event);
          },
          onRetry(event) {
            metrics.countRetry(event.callee, event.hedge ? "hedge" : "retry");
            spanEvents.onRetry(event);
          },
          onReject(event) {
            metrics.countRejection(event.callee, event.policy, event.reason);
            spanEvents.onReject(event);
          },
        });
        interceptors = [
          rpcMetricsInterceptor(metrics, caller),
          rpcClientTracingInterceptor(tracing),
          ...resilience.interceptors,
        ];
      } else {
        resilience = createClientResilience();
        interceptors = resilience.interceptors;
      }
      const catalog = createClient(CatalogService, transport, { caller, interceptors });
      return {
        async call() {
          const { product } = await catalog.getProduct(request);
          checkProductId(product?.id);
        },
        async close() {
          await transport.close();
          resilience[Symbol.dispose]();
          await tracing.shutdown();
        },
      };
    },
  };
}
