import type { CallHandler } from "@plexus/core";
import { clientCallMetrics, type ClientCallLabels } from "./client-call-metrics.ts";
import type { Metrics } from "./metrics.ts";

/** What the metrics of an HTTP request need of its call (`@plexus/rpc`'s `HttpUpstreamCall`). */
export interface HttpUpstreamMetricsCall {
  /** The upstream's name: the `callee` label. */
  readonly upstream: string;
  /** The HTTP method, upper case: the `method` label when no `operation` is named. */
  readonly method: string;
  readonly operation: string | undefined;
}

/**
 * An HTTP upstream interceptor recording every request per (caller, callee, method, outcome) in
 * the outgoing-call series `rpcMetricsInterceptor` feeds: an upstream is a callee like any other.
 * `method` is the request's `operation`, else its HTTP method; the outcome is `ok` for every
 * answer returned (4xx included), else the failure's code (`unavailable`). Place it outermost so
 * retries and breaker rejections count as one request.
 *
 * @example
 * createHttpClients({ resilience, interceptors: [httpUpstreamMetrics(metrics, "payments")] });
 */
export function httpUpstreamMetrics(
  metrics: Metrics,
  caller: string,
): <C extends HttpUpstreamMetricsCall, R>(next: CallHandler<C, R>) => CallHandler<C, R> {
  return <C extends HttpUpstreamMetricsCall, R>(next: CallHandler<C, R>) =>
    clientCallMetrics<C, R>(metrics, caller, upstreamLabels)(next);
}

const upstreamLabels: ClientCallLabels<HttpUpstreamMetricsCall> = {
  callee: (call) => call.upstream,
  method: (call) => call.operation ?? call.method,
};
