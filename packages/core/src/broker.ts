import type { CloudEvent } from "./cloud-event.ts";

/** Options of one `Broker.publish`. */
export interface PublishOptions {
  /**
   * Abandons the publish: the promise rejects with the signal's reason and the caller must treat
   * the event as not published (the outbox keeps the row and publishes it again later).
   */
  signal?: AbortSignal;
}

/**
 * How the delay before a retry is jittered (formulas in `@plexus/resilience`'s
 * `exponentialBackoff`): `full` is AWS's "Full Jitter", `random(0, ceiling)`; `grpc` is gRFC A6 as
 * revised in 2024, `ceiling * random(0.8, 1.2)` with A6's cap of 5 attempts; `equal` never waits
 * less than half the ceiling; `none` is the ceiling itself (one client only).
 */
export type BackoffJitter = "full" | "grpc" | "equal" | "none";

/**
 * Exponential backoff: the ceiling of retry `n` is `min(maxMs, initialMs * multiplier^(n-1))`,
 * then jittered. One shape for message redelivery, the outbox relay and client retries (the
 * defaults are each user's: redelivery 500 ms .. 30 s, full jitter).
 */
export interface BackoffOptions {
  /** Ceiling of the first retry's delay. Default (redelivery): 500 ms. */
  initialMs?: number;
  /** Cap of any ceiling. Default (redelivery): 30 000 ms. */
  maxMs?: number;
  /** Growth of the ceiling per retry. Default: 2. */
  multiplier?: number;
  /** Default: `full`, which spreads the retries of clients that failed together the most. */
  jitter?: BackoffJitter;
}

/** What a handler learns about the delivery it is handling. */
export interface Delivery {
  /** The consumer group it was delivered to. */
  readonly group: string;
  /** 1 for the first delivery, 2 for the first redelivery, … */
  readonly attempt: number;
  /** The `maxDeliveries` in force: the delivery with `attempt === maxDeliveries` is the last. */
  readonly maxDeliveries: number;
  /** Aborted when the subscription is torn down (`destroy`, process exit) mid-delivery. */
  readonly signal: AbortSignal;
}

/**
 * A message the broker gives up on: its handler failed `maxDeliveries` times, or its envelope is
 * malformed (then `event` is absent and `raw` holds what arrived).
 */
export interface DeadLetterInput {
  readonly group: string;
  /** The event, when its envelope was valid. */
  readonly event?: CloudEvent;
  /** The payload as received (UTF-8), when the envelope could not be parsed or validated. */
  readonly raw?: string;
  /** Why: the last handler error's message, or the validation failure. */
  readonly reason: string;
  /** Deliveries made (0 for a malformed envelope that never reached the handler). */
  readonly attempts: number;
  /** Epoch ms of the first and the last failure. */
  readonly firstFailureAt: number;
  readonly lastFailureAt: number;
}

/**
 * A consumer group's interest in some event types.
 *
 * Semantics every adapter keeps:
 * - Groups compete within, fan out across: each event matching `types` goes to exactly one
 *   member of each group (the members are the subscriptions sharing `group`, in any process),
 *   and every group gets every matching event.
 * - Acks are explicit: the handler resolving acks; throwing nacks, and the event is redelivered
 *   (to any member) after a backoff delay. Delivery is at-least-once; the consumer's inbox makes
 *   the effect exactly-once.
 * - When the delivery numbered `maxDeliveries` fails, or the envelope is malformed, the broker
 *   calls `deadLetter`, and acks only once that resolves (if it throws, the message is retried
 *   later): nothing is ever dropped silently.
 */
export interface BrokerSubscription {
  /**
   * Event types to receive: exact (`shop.orders.v1.OrderPlaced`) or a prefix ending in `*`
   * (`shop.orders.v1.*`; a lone `*` is every type).
   */
  readonly types: readonly string[];
  /** Consumer group: one member per group gets each event. Lowercase letters, digits, `.` `_` `-`. */
  readonly group: string;
  /** Handles one delivery: resolve = ack, throw = nack. */
  readonly handler: (event: CloudEvent, delivery: Delivery) => Promise<void>;
  /**
   * Handles several first deliveries at once, all or nothing (the consumer runtime: one
   * transaction for their inbox records and effects). Resolve = ack them all; throw = none took
   * effect, and the broker delivers each again through `handler`, with the usual retries and dead
   * letters (the failed batch is not counted as a delivery). Called by adapters that read in
   * batches (Kafka: a partition's records read together); others only call `handler`.
   */
  readonly batchHandler?: (events: readonly CloudEvent[], delivery: Delivery) => Promise<void>;
  /** Persists what the broker gives up on (the dead-letter store). Resolve = ack. */
  readonly deadLetter: (letter: DeadLetterInput) => Promise<void>;
  /** Deliveries before dead-lettering. Default (messaging): 5. */
  readonly maxDeliveries?: number;
  /** Redelivery delays. */
  readonly backoff?: BackoffOptions;
  /** Deliveries this member handles at once. Default (messaging): 4. */
  readonly concurrency?: number;
}

/** A live subscription (one group member). */
export interface SubscriptionHandle extends AsyncDisposable {
  /** Stops taking new messages, waits for the in-flight handlers, then leaves the group. */
  close(): Promise<void>;
}

/**
 * Publish/subscribe of CloudEvents (DESIGN.md "Broker"). Adapters: `memory` (in-process, durable
 * through the outbox, `@plexus/messaging`), `kafka` (`@plexus/messaging-kafka`), `nats`
 * (JetStream), `rabbitmq` (quorum queues). Every adapter passes `describeBrokerConformance`
 * (`@plexus/testing`).
 */
export interface Broker extends AsyncDisposable {
  /** The adapter's name (`memory`, `kafka`, `nats`, `rabbitmq`), for logs and health. */
  readonly kind: string;
  /**
   * Publishes one event. Resolves once the broker has taken responsibility for delivering it to
   * every group subscribed to its type (a network broker: persisted it; the in-memory broker:
   * every group acked or dead-lettered it). Rejects when it could not: the caller retries.
   */
  publish(event: CloudEvent, options?: PublishOptions): Promise<void>;
  /**
   * Publishes several events in one go (one produce request on Kafka), keeping their order per
   * subject. Resolves once the broker took every one; rejects when any may not have been taken
   * (some may have: the caller publishes them again, and consumers' inboxes dedupe). Offered only
   * by adapters where one request for many events is cheaper than many requests (Kafka); the
   * outbox relay then sends each read batch with it, else event by event per subject.
   */
  publishBatch?(events: readonly CloudEvent[], options?: PublishOptions): Promise<void>;
  /** Joins `subscription.group` as a new member. */
  subscribe(subscription: BrokerSubscription): Promise<SubscriptionHandle>;
  /** Closes every subscription gracefully, then the connection. Idempotent. */
  close(): Promise<void>;
}
