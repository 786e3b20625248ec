import type { BackoffOptions, Delivery } from "./broker.ts";
import type { CloudEvent } from "./cloud-event.ts";
import type { Sql } from "./store.ts";

/**
 * Where a service writes the events it publishes: in the same transaction as the state change
 * they announce (the transactional outbox), relayed to the broker after commit.
 */
export interface TransactionalOutbox {
  /** Writes `event` in `tx`; published after commit, never if `tx` rolls back. */
  add(tx: Sql, event: CloudEvent): Promise<boolean>;
  /** `db.transaction(fn)` followed by an immediate relay of what `fn` added. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
}

/**
 * One event consumer of a service. Its effect runs inside the transaction that records the event
 * in the service's inbox, so a redelivered event has no second effect.
 */
export interface EventConsumer {
  /** Unique within the service (lowercase letters, digits, `_`, `-`); names the default group. */
  readonly name: string;
  /** Event types: exact, or a prefix ending in `*`. */
  readonly types: readonly string[];
  /** Consumer group. Default `<service>.<name>`: replicas compete, other services get their own copy. */
  readonly group?: string;
  /**
   * The effect, inside the transaction that records the event in the inbox: it runs at most once
   * per group, however often the event is delivered. Use only `tx` for database work, and no
   * remote calls. Throw to nack (redelivery with backoff, dead-lettered after `maxDeliveries`).
   */
  readonly handle: (event: CloudEvent, tx: Sql, delivery: Delivery) => Promise<void>;
  /** Deliveries before dead-lettering. Default: the broker's. */
  readonly maxDeliveries?: number;
  readonly backoff?: BackoffOptions;
  /** Handlers running at once in this process. Default: the broker's. */
  readonly concurrency?: number;
}
