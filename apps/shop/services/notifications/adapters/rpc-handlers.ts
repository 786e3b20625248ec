import type { ServiceHandlers } from "@plexus/core";
import type { NotificationsService } from "../../../gen/shop/notifications/v1/notifications_pb.js";
import { listNotifications } from "../app/list-notifications.ts";
import type { NotificationRepository } from "../app/notification-repository.ts";

/** The NotificationsService contract, served from the repository. */
export function createNotificationsHandlers(
  notifications: NotificationRepository,
): ServiceHandlers<typeof NotificationsService> {
  return {
    async listNotifications(request) {
      const page = await listNotifications(notifications, {
        userId: request.userId,
        page: request.page,
        limit: request.limit,
      });
      return {
        notifications: page.notifications.map((n) => ({
          id: n.id,
          type: n.type,
          orderId: n.orderId,
          createdAt: n.createdAt,
        })),
        total: page.total,
      };
    },
  };
}
