import type { CloudEvent, Sql } from "@plexus/core";

/** One recorded order event and where it stands in the log. */
export interface LoggedEvent {
  /** 1-based commit order (ADR 19). */
  readonly position: number;
  readonly event: CloudEvent;
}

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
