export { OVERFLOW_LABEL, createBoundedLabel, methodLabel } from "./bounded-label.ts";
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
export { rpcMetricsInterceptor } from "./rpc-metrics-interceptor.ts";
