import {
  systemClock,
  type Clock,
  type CloudEvent,
  type Db,
  type EventConsumer,
  type Sql,
} from "@plexus/core";
import { decodeEventData } from "@plexus/messaging";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
} from "../../../gen/shop/orders/v1/orders_pb.js";
import type { OrderHistory, OrderHistoryEntry } from "../app/order-history.ts";
import { orderEventTypes } from "../app/order-events.ts";
import { itemCountOf, type OrderStatus } from "../domain/order.ts";
import { readOrderEvents } from "./sql-order-event-log.ts";
import { sqlRfc3339 } from "../../sql-rfc3339.ts";
import { nowIso } from "../../now-iso.ts";

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
 * Applies one order event to the history. Every statement is an idempotent, monotonic upsert:
 * OrderPlaced fills the summary's fields where they are missing and never touches the status;
 * OrderConfirmed / OrderCancelled move a PENDING (or missing) row to their status and leave a
 * settled one alone. So any number of redeliveries, in any order, converge to the same row.
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
    apply: applyOrderEvent,
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

/** Name of the history's consumer (its group is `orders.order-history`). */
export const orderHistoryConsumerName = "order-history";

/**
 * The consumer that keeps the history: its effect runs in the transaction that records the
 * event in the service's inbox, so a redelivery has no second effect (and would have none anyway:
 * the upserts are idempotent).
 */
export function createOrderHistoryConsumer(): EventConsumer {
  return {
    name: orderHistoryConsumerName,
    types: [orderEventTypes.placed, orderEventTypes.confirmed, orderEventTypes.cancelled],
    handle: (event, tx) => applyOrderEvent(tx, event),
  };
}

/** Checkpoint row of the history in `read_model_checkpoints`. */
const checkpointName = "order_history";

export interface RebuildOrderHistoryOptions {
  /** Events applied per transaction. Default 500: short transactions, few round trips. */
  readonly batchSize?: number;
  /**
   * Whether an interrupted rebuild (its checkpoint still says "rebuilding") continues from its
   * checkpoint instead of starting over. Default true: nothing is replayed twice for nothing.
   */
  readonly resume?: boolean;
  /** Stops between batches; the checkpoint keeps where it stood. */
  readonly signal?: AbortSignal;
  /** Timestamps of the checkpoint. Default: the system clock. */
  readonly clock?: Clock;
}

/** What a rebuild did. */
export interface RebuildReport {
  /** Events applied by this call. */
  readonly events: number;
  /** The last log position applied (the checkpoint). */
  readonly position: number;
  /** True when it continued an interrupted rebuild. */
  readonly resumed: boolean;
}

interface CheckpointRow {
  position: number | bigint;
  rebuilding: boolean;
}

/**
 * Rebuilds the order-history read model from the order event log: empties it, then replays every
 * event in write order, in batches, each batch in one transaction with the checkpoint (the last
 * position applied). An interrupted rebuild continues from its checkpoint. Events consumed live
 * meanwhile are harmless: every event is in the log, and applying one twice changes nothing.
 * Readers see a partial history while it runs.
 *
 * @example
 * // a CLI command, with the orders service's database
 * const report = await rebuildOrderHistory(db);
 */
export async function rebuildOrderHistory(
  db: Db,
  options: RebuildOrderHistoryOptions = {},
): Promise<RebuildReport> {
  const batchSize = options.batchSize ?? 500;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be an integer >= 1, got ${batchSize}`);
  }
  const clock = options.clock ?? systemClock;
  const now = (): string => nowIso(clock);
  const existing = await db.query<CheckpointRow>(
    "SELECT position, rebuilding FROM read_model_checkpoints WHERE name = $1",
    [checkpointName],
  );
  const current = existing.rows[0];
  const resumed = options.resume !== false && current?.rebuilding === true;
  let position = resumed ? Number(current.position) : 0;
  if (!resumed) {
    await db.transaction(async (tx) => {
      await tx.query("TRUNCATE order_history");
      await tx.query(
        `INSERT INTO read_model_checkpoints (name, position, rebuilding, updated_at)
         VALUES ($1, 0, true, $2::timestamptz)
         ON CONFLICT (name) DO UPDATE SET position = 0, rebuilding = true,
           updated_at = EXCLUDED.updated_at`,
        [checkpointName, now()],
      );
    });
  }
  let events = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const batch = await readOrderEvents(db, position, batchSize);
    const last = batch.at(-1);
    if (!last) break;
    await db.transaction(async (tx) => {
      for (const { event } of batch) await applyOrderEvent(tx, event);
      await tx.query(
        `UPDATE read_model_checkpoints SET position = $2, updated_at = $3::timestamptz
         WHERE name = $1`,
        [checkpointName, last.position, now()],
      );
    });
    position = last.position;
    events += batch.length;
  }
  await db.query(
    `UPDATE read_model_checkpoints SET rebuilding = false, updated_at = $2::timestamptz
     WHERE name = $1`,
    [checkpointName, now()],
  );
  return { events, position, resumed };
}
