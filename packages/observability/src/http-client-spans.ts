import { SpanStatusCode } from "@opentelemetry/api";
import type { TraceParent } from "@plexus/core";
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

/** Wraps one request (`send`, retries included) in its span. */
export type HttpClientSpanWrapper = <R extends { readonly status: number }>(
  call: HttpClientCall,
  send: () => Promise<R>,
) => Promise<R>;

/**
 * The wrapper an HTTP client runs each request in (`HttpUpstreamOptions.around`; the host
 * passes it to every service's upstreams): one CLIENT span per request, retries included (so
 * `resilienceSpanEvents` adds its retries and rejections as events), recorded under the ids the
 * upstream receives as `traceparent` and active while the request runs. Named and attributed
 * after OpenTelemetry's HTTP client conventions: `<METHOD>`, `http.request.method`, `url.full`
 * (no query), `server.address`, `server.port`, `service.peer.name`, and the latest response's
 * `http.response.status_code`; an answer of 400 or more is ERROR (`error.type`, the status), as
 * is a failure (`error.type`, the Plexus code). `undefined` with tracing off, so a client runs
 * nothing around its requests.
 *
 * @example
 * const http = createHttpClients({ resilience, around: httpClientSpans(tracing) });
 */
export function httpClientSpans(tracing: Tracing): HttpClientSpanWrapper | undefined {
  if (!tracing.enabled) return undefined;
  return function traceHttpRequest(call, send) {
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
          const response = await send();
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
