import type { CloudEvent, Projection, Sql } from "@plexus/core";
import { decodeEventData } from "@plexus/messaging";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
} from "../../../gen/shop/orders/v1/orders_pb.js";
import type { OrderHistory, OrderHistoryEntry } from "../app/order-history.ts";
import { orderEventTypes } from "../app/order-events.ts";
import { itemCountOf, type OrderStatus } from "../domain/order.ts";
import { orderEventLog } from "./sql-order-event-log.ts";
import { sqlRfc3339 } from "../../sql-rfc3339.ts";

interface HistoryRow {
  id: string;
  status: OrderStatus;
  total_cents: string;
  item_count: number;
  created_at: string;
}

const listFilter = "user_id = $1 AND created_at IS NOT NULL";

/** Sets a settled status, only over PENDING: a status never moves backwards. */
async function settle(
  tx: Sql,
  row: { id: string; userId: string; status: OrderStatus; totalCents: string | null },
  at: string,
): Promise<void> {
  await tx.query(
    `INSERT INTO order_history (id, user_id, status, total_cents, updated_at)
     VALUES ($1, $2, $3, $4::bigint, $5::timestamptz)
     ON CONFLICT (id) DO UPDATE SET
       status = EXCLUDED.status,
       total_cents = COALESCE(order_history.total_cents, EXCLUDED.total_cents),
       updated_at = GREATEST(order_history.updated_at, EXCLUDED.updated_at)
     WHERE order_history.status = 'PENDING'`,
    [row.id, row.userId, row.status, row.totalCents, at],
  );
}

/**
 * Applies one order event to the history. The projection applies each event once, in log order;
 * every statement is an idempotent, monotonic upsert all the same (OrderPlaced fills the summary's
 * fields where they are missing and never touches the status; OrderConfirmed / OrderCancelled
 * move a PENDING (or missing) row to their status and leave a settled one alone), so the same
 * function could feed a copy of the history from the broker, redelivered and out of order.
 */
export async function applyOrderEvent(tx: Sql, event: CloudEvent): Promise<void> {
  switch (event.type) {
    case orderEventTypes.placed: {
      const placed = decodeEventData(OrderPlacedSchema, event);
      await tx.query(
        `INSERT INTO order_history (id, user_id, status, total_cents, item_count, created_at,
           updated_at)
         VALUES ($1, $2, 'PENDING', $3::bigint, $4, $5::timestamptz, $5::timestamptz)
         ON CONFLICT (id) DO UPDATE SET
           total_cents = COALESCE(order_history.total_cents, EXCLUDED.total_cents),
           item_count = COALESCE(order_history.item_count, EXCLUDED.item_count),
           created_at = COALESCE(order_history.created_at, EXCLUDED.created_at),
           updated_at = GREATEST(order_history.updated_at, EXCLUDED.updated_at)`,
        [
          placed.orderId,
          placed.userId,
          placed.totalCents.toString(),
          itemCountOf(placed.items),
          placed.createdAt || event.time,
        ],
      );
      return;
    }
    case orderEventTypes.confirmed: {
      const confirmed = decodeEventData(OrderConfirmedSchema, event);
      await settle(
        tx,
        {
          id: confirmed.orderId,
          userId: confirmed.userId,
          status: "CONFIRMED",
          totalCents: confirmed.totalCents.toString(),
        },
        confirmed.confirmedAt || event.time,
      );
      return;
    }
    case orderEventTypes.cancelled: {
      const cancelled = decodeEventData(OrderCancelledSchema, event);
      await settle(
        tx,
        { id: cancelled.orderId, userId: cancelled.userId, status: "CANCELLED", totalCents: null },
        cancelled.cancelledAt || event.time,
      );
      return;
    }
    default:
      return;
  }
}

/** The order-history read model in the orders service's schema (`order_history`). */
export function createSqlOrderHistory(db: Sql): OrderHistory {
  return {
    async list(userId, limit, offset) {
      const [page, count] = await Promise.all([
        db.query<HistoryRow>(
          `SELECT id, status, total_cents::text AS total_cents, item_count,
             ${sqlRfc3339("created_at")} AS created_at
           FROM order_history WHERE ${listFilter}
           ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
          [userId, limit, offset],
        ),
        db.query<{ total: number }>(
          `SELECT count(*)::int AS total FROM order_history WHERE ${listFilter}`,
          [userId],
        ),
      ]);
      const entries: OrderHistoryEntry[] = page.rows.map((row) => ({
        id: row.id,
        status: row.status,
        totalCents: BigInt(row.total_cents),
        itemCount: Number(row.item_count),
        createdAt: row.created_at,
      }));
      return { entries, total: Number(count.rows[0]?.total ?? 0) };
    },
  };
}

/**
 * The order history as a projection of the order event log (ADR 19): the host keeps it, a batch
 * of events per transaction with its checkpoint, and `rebuildProjection` (`npm run
 * shop:rebuild-history`) rebuilds it.
 */
export const orderHistoryProjection: Projection = {
  name: "order_history",
  log: orderEventLog,
  types: [orderEventTypes.placed, orderEventTypes.confirmed, orderEventTypes.cancelled],
  apply: applyOrderEvent,
  // DELETE, not TRUNCATE: readers keep the old rows (MVCC) until the first batch commits with it.
  async reset(tx) {
    await tx.query("DELETE FROM order_history");
  },
};
