import type { RpcInterceptor } from "@plexus/core";
import {
  rpcClientTracingInterceptor,
  rpcMetricsInterceptor,
  rpcServerTracingInterceptor,
  type Metrics,
  type Tracing,
} from "@plexus/observability";
import type { ClientResilience } from "@plexus/resilience";

/**
 * The interceptors of every call a host's service places, in the order that matters: metrics
 * outermost (a call is counted once, whatever its retries and rejections), then tracing (one span
 * covers every attempt, and the resilience hooks find it), then the resilience pipeline.
 * Exported so benchmarks and custom hosts measure and run exactly what a host runs.
 *
 * @example
 * const client = createClient(CatalogService, transport, {
 *   caller: "orders",
 *   interceptors: clientInterceptors({ caller: "orders", metrics, tracing, resilience }),
 * });
 */
export function clientInterceptors(options: {
  /** The calling service, for per-(caller, callee) metrics. */
  caller: string;
  metrics: Metrics;
  tracing: Tracing;
  /** The host's one client pipeline state (see `createHostResilience`). */
  resilience: ClientResilience;
}): RpcInterceptor[] {
  return [
    rpcMetricsInterceptor(options.metrics, options.caller),
    rpcClientTracingInterceptor(options.tracing),
    ...options.resilience.interceptors,
  ];
}

/**
 * The interceptors around every call a host's services handle, in process or over the network,
 * so a call behaves (and traces) the same wherever its caller runs.
 */
export function serverInterceptors(tracing: Tracing): RpcInterceptor[] {
  return [rpcServerTracingInterceptor(tracing)];
}
