import type { Clock, HttpClientFactory, HttpUpstream } from "@plexus/core";
import type { ClientResilience } from "@plexus/resilience";
import { createHttpUpstream, type HttpUpstreamInterceptor } from "./http-upstream.ts";

export interface HttpClientsOptions {
  /**
   * The pipeline of every upstream's requests. Share the host's instance with its RPC clients,
   * so breaker state, budgets and their metrics are per callee across both. Default: none.
   */
  resilience?: ClientResilience;
  /**
   * Run around every request of every upstream, the first listed outermost (metrics, tracing;
   * see `HttpUpstreamOptions.interceptors`). Default: none.
   */
  interceptors?: readonly HttpUpstreamInterceptor[];
  /** Time source. Default `systemClock`. */
  clock?: Clock;
}

/** A `ServiceEnv.http` that owns the upstreams it hands out. */
export interface HttpClients extends HttpClientFactory, AsyncDisposable {
  /** Closes every upstream handed out, once their in-flight requests are answered. */
  close(): Promise<void>;
  /** Closes every upstream now. */
  destroy(): Promise<void>;
}

/**
 * The HTTP upstreams of one service, all in the same pipeline: the host creates one per
 * service (the service never learns what runs around its requests) and closes it after the
 * service's own `close`.
 *
 * @example
 * const http = createHttpClients({ resilience, interceptors: [httpUpstreamMetrics(metrics, "payments")] });
 * const provider = http.upstream("card-provider", { url: "http://127.0.0.1:9000" });
 * await http.close();
 */
export function createHttpClients(options: HttpClientsOptions = {}): HttpClients {
  const upstreams: HttpUpstream[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(upstreams.map((upstream) => upstream.close()));
  };
  return {
    upstream(name, target) {
      const upstream = createHttpUpstream({ ...options, ...target, name });
      upstreams.push(upstream);
      return upstream;
    },
    close,
    async destroy() {
      await Promise.all(upstreams.map((upstream) => upstream.destroy()));
    },
    [Symbol.asyncDispose]: close,
  };
}
