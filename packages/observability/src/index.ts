export { OVERFLOW_LABEL, createBoundedLabel, methodLabel } from "./bounded-label.ts";
export { withClientSpan, type ClientSpanOptions } from "./client-span.ts";
export {
  consumerSpans,
  type EventDelivery,
  type EventDeliveryInterceptor,
} from "./consumer-spans.ts";
export { deliveryMetrics } from "./delivery-metrics.ts";
export {
  httpClientSpans,
  type HttpClientCall,
  type HttpClientInterceptor,
} from "./http-client-spans.ts";
export { httpUpstreamMetrics, type HttpUpstreamMetricsCall } from "./http-upstream-metrics.ts";
export {
  startHttpServerSpan,
  type HttpServerRequest,
  type HttpServerSpan,
} from "./http-server-span.ts";
export {
  circuitStateValues,
  createMetrics,
  type CircuitStateName,
  type DeliveryObservation,
  type HttpRequestObservation,
  type Metrics,
  type MetricsOptions,
  type RpcClientCallObservation,
} from "./metrics.ts";
export {
  producerSpans,
  type EventPublish,
  type EventPublishInterceptor,
} from "./producer-spans.ts";
export { resilienceSpanEvents, type ResilienceSpanEventHooks } from "./resilience-span-events.ts";
export { rpcClientTracingInterceptor } from "./rpc-client-tracing-interceptor.ts";
export { rpcMetricsInterceptor } from "./rpc-metrics-interceptor.ts";
export { rpcServerTracingInterceptor } from "./rpc-server-tracing-interceptor.ts";
export { sagaStepSpans } from "./saga-step-spans.ts";
export { createTracing, type Tracing, type TracingOptions } from "./tracing.ts";
