import type { Clock, Db, HealthRegistry, Lifecycle, Logger, ServiceDefinition } from "@plexus/core";
import type { Metrics } from "@plexus/observability";
import { createProjectionRunner, type ProjectionRunner } from "@plexus/projections";

export interface HostProjectionsOptions {
  readonly services: readonly {
    readonly definition: Pick<ServiceDefinition, "name" | "projections">;
    readonly db: Db;
    readonly logger: Logger;
  }[];
  readonly lifecycle: Lifecycle;
  readonly health: HealthRegistry;
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** `PLEXUS_PROJECTION_POLL_MS`. */
  readonly pollIntervalMs: number | undefined;
}

/**
 * Starts a runner per projection the services declare, each caught up before the next starts
 * (and before the host goes on to start the services). Each is a readiness check named
 * `projection <service>.<name>`, false until it caught up: a projection whose `apply` keeps
 * throwing at start lets the host start, unready, and says why in its log, its metrics and the
 * admin API (ADR 19, "Failing applies"). Returns the runners by service.
 */
export async function startProjections(
  options: HostProjectionsOptions,
): Promise<ReadonlyMap<string, readonly ProjectionRunner[]>> {
  const { lifecycle, health, metrics, clock, pollIntervalMs } = options;
  const byService = new Map<string, ProjectionRunner[]>();
  const labelled: (readonly [string, ProjectionRunner])[] = [];
  for (const { definition, db, logger } of options.services) {
    for (const projection of definition.projections ?? []) {
      const label = `${definition.name}.${projection.name}`;
      const runner = createProjectionRunner({
        db,
        projection,
        clock,
        logger,
        onFailure: () => metrics.countProjectionFailure(label),
        ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}),
      });
      lifecycle.onStop(`projection ${label}`, () => runner.close());
      await runner.start();
      health.addReadiness(`projection ${label}`, () => runner.ready());
      byService.set(definition.name, [...(byService.get(definition.name) ?? []), runner]);
      labelled.push([label, runner]);
    }
  }
  metrics.readProjectionLags(async () => {
    const lags = await Promise.all(
      labelled.map(async ([label, runner]) => {
        // A database that fails the scrape's read leaves the gauge at its last value.
        const status = await runner.status().catch(() => undefined);
        return status && ([label, status.lag] as const);
      }),
    );
    return lags.filter((lag) => lag !== undefined);
  });
  return byService;
}
