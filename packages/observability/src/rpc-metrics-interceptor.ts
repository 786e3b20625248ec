import type { RpcInterceptor, UnaryRequest } from "@plexus/core";
import { clientCallMetrics, type ClientCallLabels } from "./client-call-metrics.ts";
import type { Metrics } from "./metrics.ts";

/**
 * A client interceptor recording every outgoing call per (caller, callee, method, outcome):
 * the rate/error/duration series API.md's `/metrics` promises per (caller, callee).
 * Place it outermost so retries and breaker rejections count as one call.
 *
 * @example
 * createClient(UsersService, transport, { caller: "gateway", interceptors: [rpcMetricsInterceptor(metrics, "gateway")] });
 */
export function rpcMetricsInterceptor(metrics: Metrics, caller: string): RpcInterceptor {
  return clientCallMetrics(metrics, caller, rpcLabels);
}

const rpcLabels: ClientCallLabels<UnaryRequest> = {
  callee: (request) => request.method.parent.typeName,
  method: (request) => request.method.name,
};
