import type { CloudEvent, LoggedEvent, Sql } from "@plexus/core";

/**
 * Where the orders service writes its events: the outbox (published after commit) and, in the
 * same transaction, its own append-only log (kept forever; the source read models are rebuilt
 * from, while the outbox may prune what it sent).
 */
export interface OrderEventLog {
  /** Writes `event` in `tx` to the outbox and the log. A second write of an event id is a no-op. */
  record(tx: Sql, event: CloudEvent): Promise<void>;
  /** Events after `afterPosition` in commit order, at most `limit`. */
  list(afterPosition: number, limit: number): Promise<LoggedEvent[]>;
}
