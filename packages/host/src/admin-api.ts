import { Code, PlexusError, type HealthRegistry, type Logger } from "@plexus/core";
import { createGateway, type Gateway, type GatewayRequest } from "@plexus/gateway";
import type { DeadLetterAdmin } from "@plexus/messaging";
import type { Metrics } from "@plexus/observability";
import type { ProjectionRunner } from "@plexus/projections";
import type { SagaAdmin } from "@plexus/saga";
import { createAdminTokenAuthenticator } from "./admin-token-authenticator.ts";

export interface AdminApiOptions {
  /** `PLEXUS_ADMIN_TOKEN`. Without one the admin API answers 404: it is off, not open. */
  token: string | undefined;
  /** Sagas by orchestrating service. */
  sagas: ReadonlyMap<string, SagaAdmin>;
  /** Dead letters by consuming service. */
  deadLetters: ReadonlyMap<string, DeadLetterAdmin>;
  /** Projection runners by service. */
  projections: ReadonlyMap<string, readonly Pick<ProjectionRunner, "status">[]>;
  health: HealthRegistry;
  metrics: Metrics;
  logger: Logger;
}

function pick<T>(registry: ReadonlyMap<string, T>, req: GatewayRequest, what: string): T {
  const service = req.params["service"] ?? "";
  const found = registry.get(service);
  if (!found) throw new PlexusError(Code.NotFound, `no ${what} for service "${service}"`);
  return found;
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!/^\d{1,4}$/.test(raw) || n < 1 || n > 1000) {
    throw new PlexusError(Code.InvalidArgument, `${name} must be an integer from 1 to 1000`, {
      reason: "VALIDATION_ERROR",
      details: [{ field: name, message: "must be an integer from 1 to 1000" }],
    });
  }
  return n;
}

/**
 * The admin JSON API under `/_plexus/api/`, behind `PLEXUS_ADMIN_TOKEN`: health, sagas (list,
 * inspect with their step timeline, retry a parked one), dead letters (list, show one, replay,
 * discard) and projections (position, log head, lag, state and last failure) of every service in
 * this host.
 */
export function createAdminApi(options: AdminApiOptions): Gateway {
  const admin = createGateway({
    name: "admin",
    logger: options.logger,
    metrics: options.metrics,
    metricsPath: false,
    rateLimit: false,
    ...(options.token ? { authenticator: createAdminTokenAuthenticator(options.token) } : {}),
  });
  if (!options.token) return admin;
  const route = (
    method: string,
    path: string,
    handler: (req: GatewayRequest) => Promise<unknown>,
  ) =>
    admin.route({
      method,
      path,
      auth: true,
      body: "none",
      handler: async (req) => ({ body: { data: await handler(req) } }),
    });

  route("GET", "/_plexus/api/health", async () => {
    const [live, ready] = await Promise.all([
      options.health.checkLive(),
      options.health.checkReady(),
    ]);
    return { live, ready };
  });
  route("GET", "/_plexus/api/projections/:service", async (req) =>
    Promise.all(pick(options.projections, req, "projections").map((runner) => runner.status())),
  );
  route("GET", "/_plexus/api/sagas/:service", async (req) => {
    const limit = intParam(req.query, "limit");
    const status = req.query.get("status");
    const type = req.query.get("type");
    const cursor = req.query.get("cursor");
    return pick(options.sagas, req, "sagas").list({
      ...(status ? { status } : {}),
      ...(type ? { type } : {}),
      ...(cursor ? { cursor } : {}),
      ...(limit ? { limit } : {}),
    });
  });
  route("GET", "/_plexus/api/sagas/:service/:id", async (req) => {
    const saga = await pick(options.sagas, req, "sagas").get(req.params["id"] ?? "");
    if (saga === undefined) throw new PlexusError(Code.NotFound, "saga not found");
    return saga;
  });
  route("POST", "/_plexus/api/sagas/:service/:id/retry", async (req) => {
    await pick(options.sagas, req, "sagas").retry(req.params["id"] ?? "");
    return { retried: true };
  });
  route("GET", "/_plexus/api/dead-letters/:service", async (req) => {
    const limit = intParam(req.query, "limit");
    const group = req.query.get("group");
    const afterId = req.query.get("after");
    return pick(options.deadLetters, req, "dead letters").list({
      ...(group ? { group } : {}),
      ...(afterId ? { afterId } : {}),
      ...(limit ? { limit } : {}),
    });
  });
  route("GET", "/_plexus/api/dead-letters/:service/:id", async (req) => {
    const id = req.params["id"] ?? "";
    const letter = await pick(options.deadLetters, req, "dead letters").get(id);
    if (letter === undefined) throw new PlexusError(Code.NotFound, `no dead letter ${id}`);
    return letter;
  });
  route("POST", "/_plexus/api/dead-letters/:service/:id/replay", async (req) =>
    pick(options.deadLetters, req, "dead letters").replay(req.params["id"] ?? ""),
  );
  route("DELETE", "/_plexus/api/dead-letters/:service/:id", async (req) => {
    const id = req.params["id"] ?? "";
    if (!(await pick(options.deadLetters, req, "dead letters").discard(id))) {
      // Like replay: an operator's stale or mistyped id is answered, not silently ignored.
      throw new PlexusError(Code.NotFound, `no dead letter ${id}`);
    }
    return { discarded: true };
  });
  return admin;
}
