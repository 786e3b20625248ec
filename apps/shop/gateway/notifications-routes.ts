import type { Client } from "@plexus/core";
import { paginate, parsePagination, type Gateway } from "@plexus/gateway";
import type { NotificationsService } from "../gen/shop/notifications/v1/notifications_pb.js";
import { presentNotification } from "./present.ts";
import { subjectOf } from "./principal.ts";

/** API.md "Notifications", paginated like every list (API.md "Conventions"). */
export function addNotificationsRoutes(
  gateway: Gateway,
  notifications: Client<typeof NotificationsService>,
): void {
  gateway.route({
    method: "GET",
    path: "/api/v1/me/notifications",
    auth: true,
    handler: async (req) => {
      const { page, limit } = parsePagination(req.query);
      const { notifications: list, total } = await notifications.listNotifications(
        { userId: subjectOf(req), page, limit },
        { signal: req.signal },
      );
      return { body: paginate(list.map(presentNotification), { page, limit, total }, req.url) };
    },
  });
}
