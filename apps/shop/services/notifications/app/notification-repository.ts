import type { Sql } from "@plexus/core";
import type { Notification } from "../domain/notification.ts";

/** One page of a user's notifications, newest first, with the count of all of theirs. */
export interface NotificationPage {
  readonly notifications: readonly Notification[];
  readonly total: number;
}

/** Where notifications are kept. */
export interface NotificationRepository {
  /**
   * Stores `notification` in `tx` (the inbox transaction of the event that caused it). Returns
   * false, storing nothing, when the order already has a notification of that type.
   */
  insert(tx: Sql, notification: Notification & { readonly eventId: string }): Promise<boolean>;
  /** The user's notifications, newest first: `limit` of them after skipping `offset`. */
  listForUser(userId: string, limit: number, offset: number): Promise<NotificationPage>;
}
