import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  Code,
  codeToConnectName,
  parseTraceparent,
  PlexusError,
  type RpcInterceptor,
} from "@plexus/core";
import { rpcMethodSpan } from "./rpc-method-span.ts";
import { startAdoptedSpan } from "./adopted-span.ts";
import type { Tracing } from "./tracing.ts";

/**
 * The codes that make a SERVER span ERROR (OpenTelemetry's RPC conventions for gRPC): a server
 * answering NOT_FOUND or INVALID_ARGUMENT did its job; the caller's span is where that is an error.
 */
const serverFailureCodes: ReadonlySet<Code> = new Set([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

/**
 * A server interceptor recording one SERVER span per handled call, named and attributed as the
 * caller's CLIENT span (`<service>/<method>`, `rpc.system.name`, `rpc.method`; on failure
 * `rpc.status_code` and `error.type`, the Connect code name; status ERROR only for the codes that
 * say the server failed, see {@link serverFailureCodes}). The span is
 * recorded under the server's own ids (`request.context.trace`, the child span the server
 * derived from the incoming `traceparent`) and parented on the caller's span named by that
 * `traceparent` header, so a trace reads client span → server span → the handler's own calls:
 * the span is active while the handler runs, and the client interceptor parents its spans on it.
 *
 * Place it on both server paths, the in-process transport and the Connect server, so a call
 * traces the same wherever its callee runs; first in the list, so its span covers the other
 * interceptors (auth, limits) too. With tracing off it returns `next` itself: no cost per call.
 *
 * @example
 * const server = await createRpcServer({
 *   services: bindings,
 *   interceptors: [rpcServerTracingInterceptor(tracing)],
 * });
 */
export function rpcServerTracingInterceptor(tracing: Tracing): RpcInterceptor {
  if (!tracing.enabled) return (next) => next;
  return (next) =>
    function traceRpcServerCall(request) {
      const ids = request.context.trace;
      if (ids === undefined) return next(request);
      const { name, attributes } = rpcMethodSpan(request.method);
      // Plexus's servers hand the parsed traceparent over; others only have the header.
      const parent =
        "parentTrace" in request
          ? request.parentTrace
          : parseTraceparent(request.header.get("traceparent") ?? undefined);
      const span = startAdoptedSpan(tracing, SpanKind.SERVER, name, attributes, ids, parent);
      return context.with(trace.setSpan(ROOT_CONTEXT, span), async function handleInSpan() {
        try {
          return await next(request);
        } catch (error) {
          const failure = PlexusError.from(error);
          const code = codeToConnectName(failure.code);
          span.setAttribute("rpc.status_code", code);
          span.setAttribute("error.type", code);
          if (serverFailureCodes.has(failure.code)) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
          }
          throw error;
        } finally {
          span.end();
        }
      });
    };
}
