import type { HealthRegistry } from "@plexus/core";
import type { Metrics } from "@plexus/observability";
import { runReadinessChecks, type ReadinessCheck } from "./readiness.ts";
import type { RouteDefinition } from "./route.ts";
import type { ServerGroup } from "./server-group.ts";

export interface BuiltinRoutesOptions {
  /** The host's health registry, if any (`GatewayOptions.health`). */
  readonly health: HealthRegistry | undefined;
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  readonly readinessTimeoutMs: number;
  /** `Retry-After` of a 503 from `/health/ready`. */
  readonly retryAfterSeconds: number;
  readonly metrics: Metrics;
  /** `false` leaves the metrics endpoint out. */
  readonly metricsPath: string | false;
  /** Readiness turns 503 once the gateway drains, so load balancers stop sending traffic. */
  readonly servers: ServerGroup;
}

/**
 * `GET /health/live`, `GET /health/ready` and `GET /metrics`: plain routes, so they get ids,
 * metrics and error handling like any other; never authenticated nor rate-limited, since probes
 * and scrapers carry no token and must not be turned away.
 */
export function builtinRoutes(options: BuiltinRoutesOptions): RouteDefinition[] {
  const { health, metrics, metricsPath, servers } = options;
  const routes: RouteDefinition[] = [
    {
      method: "GET",
      path: "/health/live",
      auth: false,
      rateLimit: false,
      handler: async () => {
        const live = health ? await health.checkLive() : undefined;
        if (live === undefined || live.ok) return { body: { status: "ok" } };
        return { status: 503, body: { status: "unhealthy", checks: live.checks } };
      },
    },
    {
      method: "GET",
      path: "/health/ready",
      auth: false,
      rateLimit: false,
      handler: async () => {
        const [own, host] = await Promise.all([
          runReadinessChecks(options.readiness, options.readinessTimeoutMs),
          health?.checkReady(),
        ]);
        const checks = { ...host?.checks, ...own.checks };
        if (own.ready && (host?.ok ?? true) && !servers.draining) {
          return { body: { status: "ok", checks } };
        }
        return {
          status: 503,
          headers: { "retry-after": String(options.retryAfterSeconds) },
          body: { status: "degraded", checks },
        };
      },
    },
  ];
  if (metricsPath !== false) {
    routes.push({
      method: "GET",
      path: metricsPath,
      auth: false,
      rateLimit: false,
      handler: async () => {
        const { contentType, body } = await metrics.render();
        return { headers: { "content-type": contentType }, body };
      },
    });
  }
  return routes;
}
