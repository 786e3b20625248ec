import { validationError, type Client } from "@plexus/core";
import { parsePagination, type Gateway } from "@plexus/gateway";
import type { NotificationsService } from "../gen/shop/notifications/v1/notifications_pb.js";
import { presentNotification } from "./present.ts";
import { subjectOf } from "./principal.ts";

/** The notifications service answers at most this many; it is also the default. */
const maxNotifications = 100;

/** API.md "Notifications". */
export function addNotificationsRoutes(
  gateway: Gateway,
  notifications: Client<typeof NotificationsService>,
): void {
  gateway.route({
    method: "GET",
    path: "/api/v1/me/notifications",
    auth: true,
    handler: async (req) => {
      // The newest notifications, `limit` of them (default and cap 100): the service keeps no
      // offsets, so only the first page exists; asking for another is refused, not answered empty.
      const { page, limit } = parsePagination(req.query, {
        defaultLimit: maxNotifications,
        maxLimit: maxNotifications,
      });
      if (page !== 1) {
        throw validationError([
          { field: "page", message: "only page 1 exists: the newest notifications, up to limit" },
        ]);
      }
      const { notifications: list } = await notifications.listNotifications(
        { userId: subjectOf(req), limit },
        { signal: req.signal },
      );
      return { body: { data: list.map(presentNotification) } };
    },
  });
}
