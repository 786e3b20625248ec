/**
 * `plexus` and `plexus-no-telemetry`: Plexus's own Connect server (`createRpcServer`) and network
 * transport (`createNetworkTransport` + `createClient`, binary protobuf over an undici Pool),
 * wired as a host wires them (see `@plexus/host`'s `startHost`):
 * - the host's own `clientInterceptors` (`[metrics, tracing, ...resilience]`) over its own
 *   `createHostResilience` (Plexus's default policies: retry, retry budget, circuit breaker,
 *   bulkhead, per-try timeout; hooks feeding the metrics and the call's span events);
 * - the host's own `serverInterceptors` (server tracing);
 * - service identity as a host runs it (ADR 13): the client's credentials put a cached service
 *   token on every call, the server's authenticator checks it against its cache of verified ones;
 * - with telemetry, tracing records every span on both sides (OpenTelemetry SDK, ended spans
 *   handed in batches, as to a host's OTLP endpoint, to an exporter that drops them) and the
 *   client metrics record every call (prom-client);
 *   without, tracing is off (its interceptors step aside, as in a host without an OTLP endpoint)
 *   and no call is measured (the policies report only retries, rejections and circuit changes).
 */
import { Code, PlexusError, systemClock, type ServiceHandlers } from "@plexus/core";
import { clientInterceptors, createHostResilience, serverInterceptors } from "@plexus/host";
import {
  createMetrics,
  createTracing,
  type Tracing,
  type TracingOptions,
} from "@plexus/observability";
import {
  bindService,
  createClient,
  createNetworkTransport,
  createRpcServer,
  createServiceAuthenticator,
  createServiceCredentials,
} from "@plexus/rpc";
import type { RpcContender } from "./contender.ts";
import { CatalogService, checkProductId, productId, request, response } from "./product.ts";

/** Receives every ended span and drops it: tracing records, nothing leaves the process. */
const discardSpans: NonNullable<TracingOptions["exporter"]> = {
  export(_spans, done) {
    done({ code: 0 });
  },
  shutdown: () => Promise.resolve(),
};

/**
 * Tracing as a host starts it: recording into `discardSpans` in batches, as a host exports to
 * its OTLP endpoint, or off (no OTLP endpoint).
 */
export function startTracing(serviceName: string, telemetry: boolean): Promise<Tracing> {
  return telemetry
    ? createTracing({ serviceName, exporter: discardSpans, exportInBatches: true })
    : createTracing({ serviceName, env: {} });
}

export type CatalogHandlers = ServiceHandlers<typeof CatalogService>;

/** The topology key both bench processes share (no secret: it protects nothing but the bench). */
export const serviceKey = Buffer.alloc(32, 0x5a);

/** Only `GetProduct` is served: methods without a handler answer `unimplemented`. */
export const served: Partial<CatalogHandlers> = {
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
        interceptors: serverInterceptors(tracing),
        authenticator: createServiceAuthenticator({ key: serviceKey }),
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
      const transport = createNetworkTransport({
        baseUrl: endpoint,
        credentials: createServiceCredentials({ key: serviceKey, service: caller }),
      });
      const metrics = createMetrics();
      // A host's own pipeline state and interceptors: what the measurement is about.
      const resilience = createHostResilience({ clock: systemClock, metrics });
      const interceptors = telemetry
        ? clientInterceptors({ caller, metrics, tracing, resilience })
        : resilience.interceptors;
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
