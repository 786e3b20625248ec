import type { Client, Clock, Logger } from "@plexus/core";
import type { Gateway } from "@plexus/gateway";
import { composeWithFallbacks, createTimeout } from "@plexus/resilience";
import type { NotificationsService } from "../gen/shop/notifications/v1/notifications_pb.js";
import type { OrdersService } from "../gen/shop/orders/v1/orders_pb.js";
import type { UsersService } from "../gen/shop/users/v1/users_pb.js";
import { presentNotification, presentOrderSummary, presentUser } from "./present.ts";
import { subjectOf } from "./principal.ts";

export interface OverviewRouteOptions {
  readonly users: Client<typeof UsersService>;
  readonly orders: Client<typeof OrdersService>;
  readonly notifications: Client<typeof NotificationsService>;
  /** Budget of each part (see `ShopGatewayConfig.overviewPartTimeoutMs`). */
  readonly partTimeoutMs: number;
  /** Runs the parts' timeouts. */
  readonly clock: Clock;
  /** Why a part degraded goes here, at warn: the response only names the part. */
  readonly logger: Logger;
}

/** How many of the newest orders and notifications the overview shows. */
const recentOrdersLimit = 5;
const recentNotificationsLimit = 10;

/**
 * API.md "Composition at the gateway": `GET /api/v1/me/overview` fetches the caller's user, recent
 * orders and notifications in parallel. A part whose service fails or is slow is `null` and its
 * service named in `meta.degraded`; the response is 200 either way.
 */
export function addOverviewRoute(gateway: Gateway, options: OverviewRouteOptions): void {
  const { users, orders, notifications, partTimeoutMs, clock, logger } = options;
  // Aggressive (the default): a part whose service ignores its signal still cannot hold the
  // response past its budget. One policy for every request: its timers are shared.
  const partTimeout = createTimeout({ timeoutMs: partTimeoutMs, clock });
  gateway.route({
    method: "GET",
    path: "/api/v1/me/overview",
    auth: true,
    handler: async (req) => {
      const userId = subjectOf(req);
      // Each call also carries the budget as its own timeout, so the services stop working on
      // an answer nobody will read.
      const call = (signal: AbortSignal) => ({ signal, timeoutMs: partTimeoutMs });
      const { values, degraded } = await composeWithFallbacks(
        {
          users: async (signal) => {
            const { user } = await users.getUser({ id: userId }, call(signal));
            return user ? presentUser(user) : null;
          },
          orders: async (signal) => {
            const history = await orders.listOrderHistory(
              { userId, page: 1, limit: recentOrdersLimit },
              call(signal),
            );
            return history.orders.map(presentOrderSummary);
          },
          notifications: async (signal) => {
            const list = await notifications.listNotifications(
              { userId, limit: recentNotificationsLimit },
              call(signal),
            );
            return list.notifications.map(presentNotification);
          },
        },
        {
          policy: partTimeout,
          signal: req.signal,
          onDegraded: ({ part, error }) =>
            logger.warn({ err: error, part }, "overview part degraded"),
        },
      );
      return {
        // A degraded answer must not be served later from a cache as if it were whole.
        headers: { "cache-control": "no-store" },
        body: {
          data: {
            user: values.users,
            recentOrders: values.orders,
            notifications: values.notifications,
          },
          meta: { degraded },
        },
      };
    },
  });
}
