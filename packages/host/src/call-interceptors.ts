import type { Clock, RpcInterceptor } from "@plexus/core";
import type { DeliveryInterceptor, PublishInterceptor } from "@plexus/messaging";
import {
  consumerSpans,
  deliveryMetrics,
  httpClientSpans,
  httpUpstreamMetrics,
  producerSpans,
  rpcClientTracingInterceptor,
  rpcMetricsInterceptor,
  rpcServerTracingInterceptor,
  sagaStepSpans,
  type Metrics,
  type Tracing,
} from "@plexus/observability";
import type { ClientResilience } from "@plexus/resilience";
import type { HttpUpstreamInterceptor } from "@plexus/rpc";
import type { SagaStepInterceptor } from "@plexus/saga";

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

/**
 * The interceptors around every request a host's service sends to an HTTP upstream, in the
 * order of `clientInterceptors`: metrics outermost (one request counted once, in the same
 * outgoing-call series as RPC), then its CLIENT span; the resilience pipeline runs inside them.
 */
export function httpUpstreamInterceptors(options: {
  caller: string;
  metrics: Metrics;
  tracing: Tracing;
}): HttpUpstreamInterceptor[] {
  return [httpUpstreamMetrics(options.metrics, options.caller), httpClientSpans(options.tracing)];
}

/** The interceptors around every publish of a host's outbox relays: the PRODUCER span. */
export function publishInterceptors(tracing: Tracing): PublishInterceptor[] {
  return [producerSpans(tracing)];
}

/**
 * The interceptors around every delivery (and replay) a host's consumers handle: metrics
 * outermost (the lag read before anything else runs, a failure counted once), then the
 * CONSUMER span.
 */
export function deliveryInterceptors(options: {
  metrics: Metrics;
  tracing: Tracing;
  clock: Clock;
}): DeliveryInterceptor[] {
  return [deliveryMetrics(options.metrics, options.clock), consumerSpans(options.tracing)];
}

/** The interceptors around every try of a host's saga steps: the step's span. */
export function sagaStepInterceptors(tracing: Tracing): SagaStepInterceptor[] {
  return [sagaStepSpans(tracing)];
}
