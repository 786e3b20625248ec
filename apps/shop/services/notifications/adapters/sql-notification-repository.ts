import type { Sql } from "@plexus/core";
import type { NotificationRepository } from "../app/notification-repository.ts";
import type { Notification, NotificationType } from "../domain/notification.ts";
import { sqlRfc3339 } from "../../sql-rfc3339.ts";

interface NotificationRow {
  id: string;
  user_id: string;
  type: NotificationType;
  order_id: string;
  created_at: string;
}

/** Notifications in the notifications service's own schema. */
export function createSqlNotificationRepository(db: Sql): NotificationRepository {
  return {
    async insert(tx, notification) {
      // ON CONFLICT rather than catching the unique violation: an error would abort the inbox
      // transaction, and with it the record that the event was processed.
      const { rows } = await tx.query(
        `INSERT INTO notifications (id, user_id, type, order_id, event_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6::timestamptz)
         ON CONFLICT (order_id, type) DO NOTHING
         RETURNING 1 AS inserted`,
        [
          notification.id,
          notification.userId,
          notification.type,
          notification.orderId,
          notification.eventId,
          notification.createdAt,
        ],
      );
      return rows.length === 1;
    },
    async listForUser(userId, limit, offset) {
      // `seq` breaks ties within a millisecond, so pages neither overlap nor skip.
      const [page, count] = await Promise.all([
        db.query<NotificationRow>(
          `SELECT id, user_id, type, order_id,
                  ${sqlRfc3339("created_at")} AS created_at
             FROM notifications
            WHERE user_id = $1
            ORDER BY created_at DESC, seq DESC
            LIMIT $2 OFFSET $3`,
          [userId, limit, offset],
        ),
        db.query<{ total: number }>(
          "SELECT count(*)::int AS total FROM notifications WHERE user_id = $1",
          [userId],
        ),
      ]);
      const notifications: Notification[] = page.rows.map((row) => ({
        id: row.id,
        userId: row.user_id,
        type: row.type,
        orderId: row.order_id,
        createdAt: row.created_at,
      }));
      return { notifications, total: Number(count.rows[0]?.total ?? 0) };
    },
  };
}
