import type { Attributes } from "@opentelemetry/api";
import { codeToConnectName, PlexusError, type Interceptor, type UnaryRequest } from "@plexus/core";
import { withClientSpan } from "./client-span.ts";
import type { Tracing } from "./tracing.ts";

/**
 * Plexus speaks the Connect protocol's model (its codes, its names) on every transport, in
 * process included; OpenTelemetry's RPC conventions (semconv 1.45, stable) call it `connectrpc`.
 */
const rpcSystemName = "connectrpc";

interface MethodSpan {
  readonly name: string;
  readonly attributes: Attributes;
}

/** Span name and attributes per method, built once (the SDK copies attributes, never mutates). */
const methodSpans = new WeakMap<UnaryRequest["method"], MethodSpan>();

function methodSpan(method: UnaryRequest["method"]): MethodSpan {
  let found = methodSpans.get(method);
  if (found === undefined) {
    const name = `${method.parent.typeName}/${method.name}`;
    found = { name, attributes: { "rpc.system.name": rpcSystemName, "rpc.method": name } };
    methodSpans.set(method, found);
  }
  return found;
}

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
export function rpcClientTracingInterceptor(tracing: Tracing): Interceptor {
  if (!tracing.enabled) return (next) => next;
  return (next) =>
    function traceRpcClientCall(request) {
      const { name, attributes } = methodSpan(request.method);
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
