import { PlexusError, codeToConnectName, type RpcInterceptor } from "@plexus/core";
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
  return (next) =>
    async function recordRpcMetrics(request) {
      const started = performance.now();
      let code = "ok";
      try {
        return await next(request);
      } catch (error) {
        code = codeToConnectName(PlexusError.from(error).code);
        throw error;
      } finally {
        metrics.observeRpcClientCall({
          caller,
          callee: request.method.parent.typeName,
          method: request.method.name,
          code,
          durationMs: performance.now() - started,
        });
      }
    };
}
