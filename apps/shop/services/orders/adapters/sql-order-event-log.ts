import type { CloudEvent, Sql, TransactionalOutbox } from "@plexus/core";
import { eventLogAppendLock } from "@plexus/projections";
import type { LoggedEvent, OrderEventLog } from "../app/order-event-log.ts";

interface EventRow {
  position: number | bigint;
  event: CloudEvent;
}

/** Reads a page of the log from any `Sql`. */
export async function readOrderEvents(
  sql: Sql,
  afterPosition: number,
  limit: number,
): Promise<LoggedEvent[]> {
  const result = await sql.query<EventRow>(
    "SELECT position, event FROM order_events WHERE position > $1 ORDER BY position LIMIT $2",
    [afterPosition, limit],
  );
  return result.rows.map((row) => ({ position: Number(row.position), event: row.event }));
}

/** The log's table, and the channel its appends notify (the order-history projection's log). */
export const orderEventLog = "order_events";

/**
 * The order event log (`order_events`) next to the service's outbox: `record` writes both in the
 * caller's transaction, so an event is in the log exactly when it is (or was) in the outbox. The
 * append takes the log's lock first, in the same statement, so positions commit in order and a
 * reader paging by position never skips one (ADR 19); it is held until the commit, so callers
 * record last in their transaction. The commit wakes the log's projections.
 */
export function createSqlOrderEventLog(db: Sql, outbox: TransactionalOutbox): OrderEventLog {
  return {
    async record(tx, event) {
      await outbox.add(tx, event);
      await tx.query(
        `WITH append_lock AS MATERIALIZED (SELECT ${eventLogAppendLock(orderEventLog)})
         INSERT INTO order_events (event_id, order_id, event_type, event, recorded_at)
         SELECT $1, $2, $3, $4::jsonb, $5::timestamptz FROM append_lock
         ON CONFLICT (event_id) DO NOTHING`,
        [event.id, event.subject ?? "", event.type, JSON.stringify(event), event.time],
      );
      tx.notify(orderEventLog);
    },
    list: (afterPosition, limit) => readOrderEvents(db, afterPosition, limit),
  };
}
