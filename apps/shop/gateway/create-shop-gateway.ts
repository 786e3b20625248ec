import { createGateway, createJwtVerifier, rateLimitFromEnv } from "@plexus/gateway";
import type { EdgeApp, EdgeEnv } from "@plexus/host";
import { CatalogService } from "../gen/shop/catalog/v1/catalog_pb.js";
import { NotificationsService } from "../gen/shop/notifications/v1/notifications_pb.js";
import { OrdersService } from "../gen/shop/orders/v1/orders_pb.js";
import { PaymentsService } from "../gen/shop/payments/v1/payments_pb.js";
import { UsersService } from "../gen/shop/users/v1/users_pb.js";
import { readUsersConfig } from "../services/users/config.ts";
import { addCatalogRoutes } from "./catalog-routes.ts";
import { addNotificationsRoutes } from "./notifications-routes.ts";
import { addOrdersRoutes } from "./orders-routes.ts";
import { addOverviewRoute } from "./overview-route.ts";
import { credentialsPolicy, readShopGatewayConfig } from "./shop-gateway-config.ts";
import { addUsersRoutes } from "./users-routes.ts";

/**
 * The shop's public edge (API.md): REST routes transcoded onto the services' RPCs, JWT auth
 * against the users service's JWKS, per-principal rate limits, the `/me/overview` composition,
 * health and metrics. See README.md for the decisions where API.md is silent.
 *
 * Config: `PLEXUS_RATE_LIMIT`, `PLEXUS_CREDENTIAL_RATE_LIMIT`/`PLEXUS_CREDENTIAL_RATE_BURST` (sign-up
 * and token issuance per client IP, default 10/min, 5 at once), `PLEXUS_JWT_ISSUER`/
 * `PLEXUS_JWT_AUDIENCE` (shared with the users service), `PLEXUS_OVERVIEW_PART_TIMEOUT_MS`
 * (default 300).
 */
export function createShopGateway(env: EdgeEnv): EdgeApp {
  const users = env.clients.client(UsersService);
  const catalog = env.clients.client(CatalogService);
  const orders = env.clients.client(OrdersService);
  const payments = env.clients.client(PaymentsService);
  const notifications = env.clients.client(NotificationsService);
  const { issuer, audience } = readUsersConfig(env.config);
  const { overviewPartTimeoutMs, credentialRateLimit } = readShopGatewayConfig(env.config);
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
    rateLimit: {
      defaultLimit: rateLimitFromEnv(env.config),
      policies: { [credentialsPolicy]: credentialRateLimit },
    },
    tracing: env.tracing,
  });
  addUsersRoutes(gateway, users);
  addCatalogRoutes(gateway, catalog);
  addOrdersRoutes(gateway, orders, payments);
  addNotificationsRoutes(gateway, notifications);
  addOverviewRoute(gateway, {
    users,
    orders,
    notifications,
    partTimeoutMs: overviewPartTimeoutMs,
    clock: env.clock,
    logger: env.logger,
  });
  return gateway;
}
