/**
 * `plexus-local`: a call to a service hosted in the same process, wired as a host wires its
 * co-hosted services (see `@plexus/host`'s `createLocalClients`): `createInProcessTransport` with
 * the host's `serverInterceptors`, and a `createClient` whose interceptors are the host's full
 * client resilience pipeline (`createHostResilience`: retry, retry budget, circuit breaker,
 * bulkhead, per-try timeout). Telemetry is off — tracing steps aside as in a host without an
 * OTLP endpoint, and no metrics interceptor — as Moleculer's defaults have no metrics or tracing
 * (`moleculer-local`). Messages cross by copy, as on every in-process call.
 */
import { systemClock } from "@plexus/core";
import { createHostResilience, serverInterceptors } from "@plexus/host";
import { createMetrics } from "@plexus/observability";
import { bindService, createClient, createInProcessTransport } from "@plexus/rpc";
import type { LocalRpcContender } from "./contender.ts";
import { served, startTracing, type CatalogHandlers } from "./plexus.ts";
import { CatalogService, checkProductId, request } from "./product.ts";

export function plexusLocal(): LocalRpcContender {
  return {
    async start() {
      const tracing = await startTracing("bench-local", false);
      const transport = createInProcessTransport({
        services: [bindService(CatalogService, served as CatalogHandlers)],
        clock: systemClock,
        interceptors: serverInterceptors(tracing),
      });
      // The policies report retries, rejections and circuit changes only: no call is measured.
      const resilience = createHostResilience({ clock: systemClock, metrics: createMetrics() });
      const caller = "bench-client";
      const catalog = createClient(CatalogService, transport, {
        caller,
        clock: systemClock,
        interceptors: resilience.interceptors,
      });
      return {
        async call() {
          const { product } = await catalog.getProduct(request);
          checkProductId(product?.id);
        },
        async close() {
          resilience[Symbol.dispose]();
          await tracing.shutdown();
        },
      };
    },
  };
}
