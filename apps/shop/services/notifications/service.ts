import { defineService } from "@plexus/core";
import { NotificationsService } from "../../gen/shop/notifications/v1/notifications_pb.js";
import { createOrderOutcomeConsumer } from "./adapters/order-outcome-consumer.ts";
import { createNotificationsHandlers } from "./adapters/rpc-handlers.ts";
import { createSqlNotificationRepository } from "./adapters/sql-notification-repository.ts";
import { notificationsMigrations } from "./migrations.ts";

/**
 * Notifications to users about their orders: one `order.confirmed` or `order.cancelled` per
 * settled order, made from the orders service's events exactly once — the inbox dedupes
 * redeliveries in the same transaction as the insert, and a unique (order, type) index guards
 * against the same outcome announced under a new event id.
 *
 * @example
 * const db = await storage.forService(notificationsService.name, notificationsService.migrations);
 * const { handlers, consumers } = await notificationsService.create({ ...env, db });
 */
export const notificationsService = defineService({
  name: "notifications",
  contract: NotificationsService,
  migrations: notificationsMigrations,
  create: ({ db, clock, logger }) => {
    const notifications = createSqlNotificationRepository(db);
    return {
      handlers: createNotificationsHandlers(notifications),
      consumers: [createOrderOutcomeConsumer({ notifications, clock, logger })],
    };
  },
});
