import { SpanStatusCode } from "@opentelemetry/api";
import type { CallHandler, TraceParent } from "@plexus/core";
import { withClientSpan } from "./client-span.ts";
import type { Tracing } from "./tracing.ts";

/**
 * One outgoing HTTP request as an HTTP client tells it (structurally, `@plexus/rpc`'s
 * `HttpUpstreamCall`: this package knows no transport).
 */
export interface HttpClientCall {
  /** The upstream's name (`card-provider`): `service.peer.name`. */
  readonly upstream: string;
  /** The HTTP method, upper case. */
  readonly method: string;
  /** The URL requested, without its query. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The ids every attempt sends as `traceparent`: the span is recorded under them. */
  readonly trace: TraceParent;
  /** The status of the latest response, once one arrived (failure statuses included). */
  readonly status: number | undefined;
}

/**
 * An HTTP client interceptor (`@plexus/rpc`'s `HttpUpstreamInterceptor`, whose call is an
 * {@link HttpClientCall}): generic in the call and the response, so it fits the client's types.
 */
export type HttpClientInterceptor = <
  C extends HttpClientCall,
  R extends { readonly status: number },
>(
  next: CallHandler<C, R>,
) => CallHandler<C, R>;

/**
 * The interceptor an HTTP client runs each request through (`HttpUpstreamOptions.interceptors`;
 * the host passes it to every service's upstreams): one CLIENT span per request, retries included (so
 * `resilienceSpanEvents` adds its retries and rejections as events), recorded under the ids the
 * upstream receives as `traceparent` and active while the request runs. Named and attributed
 * after OpenTelemetry's HTTP client conventions: `<METHOD>`, `http.request.method`, `url.full`
 * (no query), `server.address`, `server.port`, `service.peer.name`, and the latest response's
 * `http.response.status_code`; an answer of 400 or more is ERROR (`error.type`, the status), as
 * is a failure (`error.type`, the Plexus code). A pass-through with tracing off.
 *
 * @example
 * const http = createHttpClients({ resilience, interceptors: [httpClientSpans(tracing)] });
 */
export function httpClientSpans(tracing: Tracing): HttpClientInterceptor {
  if (!tracing.enabled) return (next) => next;
  return (next) =>
    function traceHttpRequest(call) {
      const attributes = {
        "http.request.method": call.method,
        "url.full": call.url,
        "server.address": call.host,
        "server.port": call.port,
        "service.peer.name": call.upstream,
      };
      return withClientSpan(
        tracing,
        call.method,
        { attributes, trace: call.trace },
        async function sendInSpan(span) {
          try {
            const response = await next(call);
            if (response.status >= 400) {
              span.setAttribute("error.type", String(response.status));
              span.setStatus({ code: SpanStatusCode.ERROR });
            }
            return response;
          } finally {
            if (call.status !== undefined) {
              span.setAttribute("http.response.status_code", call.status);
            }
          }
        },
      );
    };
}
