import type { CloudEvent } from "./cloud-event.ts";
import type { Sql } from "./store.ts";

/**
 * A read model kept from a service's own event log (ADR 19): the host runs it, applying every
 * event exactly once and in log order, each batch in one transaction with its checkpoint (the
 * position of the last event applied); `@plexus/projections` rebuilds it (reset, then replay).
 * Declared in `defineService({ projections })`.
 *
 * @example
 * const orderHistory: Projection = {
 *   name: "order_history",
 *   log: "order_events",
 *   types: ["shop.orders.v1.*"],
 *   apply: (tx, event) => applyOrderEvent(tx, event),
 *   reset: async (tx) => { await tx.query("DELETE FROM order_history"); },
 * };
 */
export interface Projection {
  /** Unique within the service (lowercase letters, digits, `_`, `-`); names its checkpoint. */
  readonly name: string;
  /**
   * The service's event log it follows: a table of the service's schema with `position` (bigint,
   * commit order) and `event` (jsonb, the CloudEvent) columns, named as its wake-up channel is
   * (1-40 lowercase letters, digits and `_`, a letter first).
   *
   * What the log's writer promises (ADR 19): an event committed after another has a larger
   * position, so a reader that has read up to position p never later finds a committed event at
   * or below p. Identity columns alone do not promise it on Postgres (positions are taken at
   * insert, not at commit): each append takes the log's lock first (`eventLogAppendLock` of
   * `@plexus/projections`). Holes left by rolled-back appends are fine. And the appending
   * transaction calls `tx.notify(log)`, which wakes the log's projections at the commit.
   */
  readonly log: string;
  /** Event types it applies: exact, or a prefix ending in `*`. Others only move the checkpoint. */
  readonly types: readonly string[];
  /**
   * Applies one event in `tx`, the transaction that moves the checkpoint past it: it runs once
   * per event (a failed batch is rolled back whole and applied again). Use only `tx`, no remote
   * calls. Throwing stops the projection at that event (retried at the next poll): order is kept.
   */
  readonly apply: (tx: Sql, event: CloudEvent) => Promise<void>;
  /**
   * Empties the read model, in the transaction that applies the first batch of a rebuild, so
   * readers never see it empty while the log is not. Prefer `DELETE` to `TRUNCATE`: on Postgres
   * `TRUNCATE` blocks readers until that transaction ends.
   */
  readonly reset: (tx: Sql) => Promise<void>;
}
