import { codeToConnectName, PlexusError, type RpcInterceptor } from "@plexus/core";
import { withClientSpan } from "./client-span.ts";
import { rpcMethodSpan } from "./rpc-method-span.ts";
import type { Tracing } from "./tracing.ts";

/**
 * A client interceptor recording one CLIENT span per outgoing call, named
 * `<service>/<method>` (`shop.catalog.v1.CatalogService/GetProduct`) with OpenTelemetry's RPC
 * attributes (`rpc.system.name`, `rpc.method`; on failure `rpc.status_code` and `error.type`,
 * the Connect code name, and status ERROR). The span is recorded under the ids of
 * `request.context.trace` — the child span the RPC client made for this call and the transport
 * sends as `traceparent` — so the callee's context, logs and spans hang under it; its parent is
 * the active span when that belongs to the same trace. The request goes on untouched.
 *
 * Place it right inside the metrics interceptor, outside resilience: one span covers the whole
 * call, and the resilience hooks (see `resilienceSpanEvents`) add its retries, rejections and
 * circuit changes as events. With tracing off it returns `next` itself: no cost per call.
 *
 * @example
 * const catalog = createClient(CatalogService, transport, {
 *   interceptors: [
 *     rpcMetricsInterceptor(metrics, "orders"),
 *     rpcClientTracingInterceptor(tracing),
 *     ...resilience.interceptors,
 *   ],
 * });
 */
export function rpcClientTracingInterceptor(tracing: Tracing): RpcInterceptor {
  if (!tracing.enabled) return (next) => next;
  return (next) =>
    function traceRpcClientCall(request) {
      const { name, attributes } = rpcMethodSpan(request.method);
      return withClientSpan(
        tracing,
        name,
        { attributes, trace: request.context.trace },
        async function sendInSpan(span) {
          try {
            return await next(request);
          } catch (error) {
            span.setAttribute("rpc.status_code", codeToConnectName(PlexusError.from(error).code));
            throw error;
          }
        },
      );
    };
}
