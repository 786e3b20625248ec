import {
  Code,
  PlexusError,
  systemClock,
  type Broker,
  type Clock,
  type Db,
  type EventConsumer,
  type Logger,
  type SubscriptionHandle,
} from "@plexus/core";
import {
  createConsumerDelivery,
  type DeadLetterListener,
  type DeliveryInterceptor,
} from "./consumer-delivery.ts";
import { createDeadLetterAdmin, type DeadLetterAdmin } from "./dead-letter-admin.ts";
import { createDeadLetterStore } from "./dead-letter-store.ts";
import { compileTypeFilter } from "./event-type-filter.ts";
import { ensureMessagingTables } from "./messaging-tables.ts";

/**
 * One event handler of a service: core's `EventConsumer` (a service declares its consumers
 * without depending on this package). Throw a `PlexusError` with `Code.InvalidArgument` (as
 * `decodeEventData` does) to dead-letter at once: retrying an unusable event cannot help.
 */
export type Consumer = EventConsumer;

export interface ConsumerRuntimeOptions {
  /** The service the consumers belong to (names default groups and logs). */
  service: string;
  /** The service's own database: inbox and dead letters live in its schema. */
  db: Db;
  /** Where the consumers subscribe (the host's broker: memory, NATS or RabbitMQ). */
  broker: Broker;
  /** The service's event handlers; each becomes one subscription (one group member). */
  consumers: readonly Consumer[];
  /** Lag and failure times. Default: the system clock. */
  clock?: Clock;
  /** Failures and dead letters are logged here. Default: nothing is logged. */
  logger?: Logger;
  /** Called for each message parked in the dead-letter store (metrics, alerts). Default: none. */
  onDeadLetter?: DeadLetterListener;
  /**
   * Run around the handling of each delivery and replay, the first listed outermost, composed
   * once (the host's: `deliveryMetrics`, then `consumerSpans` of `@plexus/observability`).
   * Default: none — nothing is allocated for them per delivery.
   */
  interceptors?: readonly DeliveryInterceptor[];
}

/** Runs a service's consumers. */
export interface ConsumerRuntime extends AsyncDisposable {
  /** Creates the messaging tables if needed, then subscribes every consumer. */
  start(): Promise<void>;
  readonly deadLetters: DeadLetterAdmin;
  /** Stops taking new events and waits for the handlers in flight. Idempotent. */
  close(): Promise<void>;
}

const consumerName = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * Creates the consumer runtime of one service: each consumer becomes a broker subscription whose
 * deliveries run in the publisher's context (correlation id, child trace span), through the inbox
 * (one effect per group per event), with redelivery and backoff, and past `maxDeliveries` into the
 * dead-letter store in the service's own schema, from where they can be listed and replayed.
 *
 * @example
 * const runtime = createConsumerRuntime({ service: "notifications", db, broker, consumers: [{
 *   name: "order-settled",
 *   types: ["shop.orders.v1.OrderConfirmed", "shop.orders.v1.OrderCancelled"],
 *   handle: async (event, tx) => { await tx.query("INSERT INTO notifications ...", [...]); },
 * }] });
 * await runtime.start();
 */
export function createConsumerRuntime(options: ConsumerRuntimeOptions): ConsumerRuntime {
  const { service, db, broker, logger } = options;
  const clock = options.clock ?? systemClock;
  const store = createDeadLetterStore(db);
  const byGroup = new Map<string, Consumer>();
  for (const consumer of options.consumers) {
    if (!consumerName.test(consumer.name)) {
      throw new TypeError(`invalid consumer name ${JSON.stringify(consumer.name)}`);
    }
    compileTypeFilter(consumer.types);
    const group = groupOf(consumer);
    if (byGroup.has(group)) throw new TypeError(`two consumers of ${service} share group ${group}`);
    byGroup.set(group, consumer);
  }
  const delivery = createConsumerDelivery({
    service,
    db,
    store,
    broker: broker.kind,
    clock,
    logger,
    onDeadLetter: options.onDeadLetter,
    interceptors: options.interceptors ?? [],
  });
  const deadLetters = createDeadLetterAdmin({
    service,
    store,
    consumers: byGroup,
    delivery,
    clock,
    logger,
  });
  const handles: SubscriptionHandle[] = [];
  let started: Promise<void> | undefined;
  let closed: Promise<void> | undefined;

  function groupOf(consumer: Consumer): string {
    return consumer.group ?? `${service}.${consumer.name}`;
  }

  return {
    deadLetters,
    start() {
      started ??= (async () => {
        if (closed) throw new PlexusError(Code.FailedPrecondition, "consumer runtime is closed");
        await ensureMessagingTables(db);
        for (const [group, consumer] of byGroup) {
          const handle = await broker.subscribe({
            group,
            types: consumer.types,
            handler: (event, d) => delivery.deliver(consumer, event, d),
            batchHandler: (events, d) => delivery.deliverBatch(consumer, events, d),
            deadLetter: (letter) => delivery.deadLetter(letter),
            ...(consumer.maxDeliveries === undefined
              ? {}
              : { maxDeliveries: consumer.maxDeliveries }),
            ...(consumer.backoff === undefined ? {} : { backoff: consumer.backoff }),
            ...(consumer.concurrency === undefined ? {} : { concurrency: consumer.concurrency }),
          });
          handles.push(handle);
        }
      })();
      return started;
    },
    close() {
      closed ??= (async () => {
        await started?.catch(() => undefined);
        await Promise.all(handles.map((h) => h.close()));
      })();
      return closed;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}
