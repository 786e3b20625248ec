import type { Sql } from "@plexus/core";
import type { Notification } from "../domain/notification.ts";

/** Where notifications are kept. */
export interface NotificationRepository {
  /**
   * Stores `notification` in `tx` (the inbox transaction of the event that caused it). Returns
   * false, storing nothing, when the order already has a notification of that type.
   */
  insert(tx: Sql, notification: Notification & { readonly eventId: string }): Promise<boolean>;
  /** The user's notifications, newest first, at most `limit`. */
  listForUser(userId: string, limit: number): Promise<Notification[]>;
}
