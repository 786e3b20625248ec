import { createGateway, createJwtVerifier, rateLimitFromEnv } from "@plexus/gateway";
import type { EdgeApp, EdgeEnv } from "@plexus/host";
import { CatalogService } from "../gen/shop/catalog/v1/catalog_pb.js";
import { UsersService } from "../gen/shop/users/v1/users_pb.js";
import { readUsersConfig } from "../services/users/config.ts";
import { addCatalogRoutes } from "./catalog-routes.ts";
import { addUsersRoutes } from "./users-routes.ts";

/**
 * The shop's public edge (API.md): REST routes transcoded onto the services' RPCs, JWT auth
 * against the users service's JWKS, per-principal rate limits, health and metrics.
 */
export function createShopGateway(env: EdgeEnv): EdgeApp {
  const users = env.clients.client(UsersService);
  const catalog = env.clients.client(CatalogService);
  const { issuer, audience } = readUsersConfig(env.config);
  const gateway = createGateway({
    logger: env.logger,
    metrics: env.metrics,
    clock: env.clock,
    health: env.health,
    authenticator: createJwtVerifier({
      getJwks: async (signal) => {
        const { jwksJson } = await users.getJwks({}, { signal });
        return JSON.parse(jwksJson) as { keys: [] };
      },
      issuer,
      audience,
      algorithms: ["EdDSA"],
      clock: env.clock,
      logger: env.logger,
    }),
    rateLimit: { defaultLimit: rateLimitFromEnv(env.config) },
  });
  addUsersRoutes(gateway, users);
  addCatalogRoutes(gateway, catalog);
  return gateway;
}
