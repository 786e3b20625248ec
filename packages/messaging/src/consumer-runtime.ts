import {
  Code,
  PlexusError,
  runInContext,
  systemClock,
  type Broker,
  type Clock,
  type CloudEvent,
  type DeadLetterInput,
  type Db,
  type Delivery,
  type EventConsumer,
  type Logger,
  type SubscriptionHandle,
  type TraceParent,
} from "@plexus/core";
import {
  createDeadLetterStore,
  type DeadLetter,
  type ListDeadLettersOptions,
} from "./dead-letter-store.ts";
import { contextFromEvent } from "./event-context.ts";
import { compileTypeFilter } from "./event-type-filter.ts";
import { handleOnce } from "./inbox.ts";
import { ensureMessagingTables } from "./messaging-tables.ts";

/**
 * One event handler of a service: core's `EventConsumer` (a service declares its consumers
 * without depending on this package). Throw a `PlexusError` with `Code.InvalidArgument` (as
 * `decodeEventData` does) to dead-letter at once: retrying an unusable event cannot help.
 */
export type Consumer = EventConsumer;

/** One finished delivery, for metrics. */
export interface DeliveryReport {
  readonly group: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly attempt: number;
  /** `processed`: effect applied; `duplicate`: already processed (inbox); `failed`: nacked. */
  readonly outcome: "processed" | "duplicate" | "failed";
  /** Queue lag: delivery start minus the event's `time`. */
  readonly lagMs: number;
  readonly durationMs: number;
}

/** A message parked in the dead-letter store, for metrics and alerts. */
export interface DeadLetterReport {
  readonly group: string;
  readonly eventId?: string;
  readonly eventType?: string;
  readonly reason: string;
  readonly attempts: number;
}

/** Metrics and log hooks (the observability package turns them into Prometheus series). */
export interface ConsumerHooks {
  onDelivery?(report: DeliveryReport): void;
  onDeadLetter?(report: DeadLetterReport): void;
}

/** One delivery as {@link DeliveryWrapper} sees it. */
export interface DeliveryCall {
  /** The service whose consumer handles it. */
  readonly service: string;
  readonly event: CloudEvent;
  /** Its consumer group, attempt (1 for the first delivery) and the `maxDeliveries` in force. */
  readonly delivery: Delivery;
  /**
   * The handler's own span: the context it runs in carries these ids (`CallContext.trace`, a
   * child of the event's `traceparent`), so the calls it makes name it as their parent. Record
   * the delivery's span under exactly them.
   */
  readonly trace: TraceParent;
  /** The broker's `kind` (`memory`, `nats`, `rabbitmq`). */
  readonly broker: string;
  /**
   * Whether the handler failing with `error` sends the event to the dead-letter store: at once
   * when the event is unusable (`InvalidArgument`), else when this was the last delivery (a
   * failed replay leaves it there).
   */
  deadLetters(error: unknown): boolean;
}

/** How a delivery the handler did not fail ended: effect applied, or already applied (inbox). */
export type DeliveryOutcome = "processed" | "duplicate";

/**
 * Runs around the handling of each delivery and replay (the host's CONSUMER span): `handle`
 * runs the handler in its transaction and resolves with the outcome, or rejects with the
 * handler's failure. Must call `handle` once and settle as it does.
 */
export type DeliveryWrapper = (
  call: DeliveryCall,
  handle: () => Promise<DeliveryOutcome>,
) => Promise<DeliveryOutcome>;

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
  /** Default: none. Hooks must not throw (a throwing hook is logged and ignored). */
  hooks?: ConsumerHooks;
  /**
   * Runs around each delivery's handling (`consumerSpans` of `@plexus/observability`). Default:
   * none — nothing is allocated for it per delivery.
   */
  aroundDelivery?: DeliveryWrapper;
}

/** What a replay did. */
export interface ReplayResult {
  /** `processed`: the handler ran now; `duplicate`: the group had already processed it. */
  readonly outcome: "processed" | "duplicate";
}

/** The dead letters of a service's consumers, for operators. */
export interface DeadLetterAdmin {
  list(options?: ListDeadLettersOptions): Promise<DeadLetter[]>;
  get(id: string): Promise<DeadLetter | undefined>;
  count(group?: string): Promise<number>;
  /**
   * Delivers the parked event again, to its group's handler only (in this process, with the
   * inbox), and removes it from the store in the same transaction as the effect. On failure the
   * entry stays, with one more attempt and the new error, and the error is rethrown.
   * `NotFound` for an unknown id, `FailedPrecondition` for a malformed envelope or a group this
   * runtime does not run.
   */
  replay(id: string): Promise<ReplayResult>;
  /** Drops an entry without processing it. True when it existed. */
  discard(id: string): Promise<boolean>;
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
  const { service, db, broker, logger, aroundDelivery } = options;
  const clock = options.clock ?? systemClock;
  const hooks = options.hooks ?? {};
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
  const handles: SubscriptionHandle[] = [];
  let started: Promise<void> | undefined;
  let closed: Promise<void> | undefined;

  function groupOf(consumer: Consumer): string {
    return consumer.group ?? `${service}.${consumer.name}`;
  }

  function hook<K extends keyof ConsumerHooks>(
    name: K,
    report: Parameters<NonNullable<ConsumerHooks[K]>>[0],
  ): void {
    try {
      (hooks[name] as ((r: typeof report) => void) | undefined)?.(report);
    } catch (error) {
      logger?.warn({ err: error, hook: name }, "consumer hook threw");
    }
  }

  /** The effect of one delivery: inbox + handler + clearing a stale dead letter, in one transaction. */
  async function process(
    consumer: Consumer,
    group: string,
    event: CloudEvent,
    delivery: Delivery,
  ): Promise<DeliveryOutcome> {
    const result = await handleOnce(db, group, event, async (tx) => {
      await consumer.handle(event, tx, delivery);
      // Processed after all (a republish after a crash, or a replay): the entry is stale.
      await store.removeEvent(tx, group, event.id);
    });
    return result.processed ? "processed" : "duplicate";
  }

  /** What `aroundDelivery` is told of a delivery handled in the context `trace` names. */
  function deliveryCall(event: CloudEvent, delivery: Delivery, trace: TraceParent): DeliveryCall {
    return {
      service,
      event,
      delivery,
      trace,
      broker: broker.kind,
      deadLetters: (error) => isUnusable(error) || delivery.attempt >= delivery.maxDeliveries,
    };
  }

  async function deliver(consumer: Consumer, group: string, event: CloudEvent, delivery: Delivery) {
    const startedAt = clock.now();
    const report = {
      group,
      eventId: event.id,
      eventType: event.type,
      attempt: delivery.attempt,
      lagMs: Math.max(0, startedAt - Date.parse(event.time)),
    };
    const context = contextFromEvent(event);
    await runInContext(context, async () => {
      try {
        const outcome =
          aroundDelivery === undefined
            ? await process(consumer, group, event, delivery)
            : await aroundDelivery(deliveryCall(event, delivery, context.trace), () =>
                process(consumer, group, event, delivery),
              );
        hook("onDelivery", { ...report, outcome, durationMs: clock.now() - startedAt });
      } catch (error) {
        hook("onDelivery", { ...report, outcome: "failed", durationMs: clock.now() - startedAt });
        logger?.warn(
          {
            err: error,
            group,
            eventId: event.id,
            eventType: event.type,
            attempt: delivery.attempt,
          },
          "event handler failed",
        );
        if (isUnusable(error)) {
          // Retrying cannot help, and in the memory broker it would hold up its subject for the
          // whole backoff.
          const now = clock.now();
          await deadLetter({
            group,
            event,
            reason: error.message,
            attempts: delivery.attempt,
            firstFailureAt: now,
            lastFailureAt: now,
          });
          return;
        }
        throw error;
      }
    });
  }

  async function deadLetter(letter: DeadLetterInput): Promise<void> {
    await store.add(letter);
    const report: { -readonly [K in keyof DeadLetterReport]: DeadLetterReport[K] } = {
      group: letter.group,
      reason: letter.reason,
      attempts: letter.attempts,
    };
    if (letter.event) {
      report.eventId = letter.event.id;
      report.eventType = letter.event.type;
    }
    hook("onDeadLetter", report);
    logger?.error(report, "event dead-lettered");
  }

  const deadLetters: DeadLetterAdmin = {
    list: (listOptions) => store.list(listOptions),
    get: (id) => store.get(id),
    count: (group) => store.count(group),
    discard: (id) => store.remove(id),
    async replay(id) {
      const letter = await store.get(id);
      if (!letter) throw new PlexusError(Code.NotFound, `no dead letter ${id}`);
      if (!letter.event) {
        throw new PlexusError(
          Code.FailedPrecondition,
          `dead letter ${id} holds a malformed envelope; it cannot be replayed`,
        );
      }
      const consumer = byGroup.get(letter.group);
      if (!consumer) {
        throw new PlexusError(
          Code.FailedPrecondition,
          `dead letter ${id} belongs to group ${letter.group}, which ${service} does not run here`,
        );
      }
      const event = letter.event;
      const delivery: Delivery = {
        group: letter.group,
        attempt: letter.attempts + 1,
        maxDeliveries: letter.attempts + 1,
        signal: new AbortController().signal,
      };
      const context = contextFromEvent(event);
      const handle = async (): Promise<DeliveryOutcome> => {
        const result = await handleOnce(db, letter.group, event, async (tx) => {
          await consumer.handle(event, tx, delivery);
          await store.remove(id, tx);
        });
        return result.processed ? "processed" : "duplicate";
      };
      try {
        const outcome = await runInContext(context, () =>
          aroundDelivery === undefined
            ? handle()
            : aroundDelivery(deliveryCall(event, delivery, context.trace), handle),
        );
        if (outcome === "duplicate") await store.remove(id);
        logger?.info({ group: letter.group, eventId: event.id }, "dead letter replayed");
        return { outcome };
      } catch (error) {
        await store.recordFailure(
          id,
          error instanceof Error ? error.message : String(error),
          clock.now(),
        );
        throw error;
      }
    },
  };

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
            handler: (event, delivery) => deliver(consumer, group, event, delivery),
            deadLetter,
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

/** Whether the event itself is unusable (its data does not decode): no retry can help. */
function isUnusable(error: unknown): error is PlexusError {
  return error instanceof PlexusError && error.code === Code.InvalidArgument;
}
