import {
  chainInterceptors,
  Code,
  PlexusError,
  runInContext,
  type Clock,
  type CloudEvent,
  type DeadLetterInput,
  type Db,
  type Delivery,
  type EventConsumer,
  type Interceptor,
  type Logger,
  type Sql,
  type TraceParent,
} from "@plexus/core";
import type { DeadLetterStore } from "./dead-letter-store.ts";
import { contextFromEvent } from "./event-context.ts";
import { handleEachOnce, handleOnce } from "./inbox.ts";

/** A message parked in the dead-letter store, for metrics and alerts. */
export interface DeadLetterReport {
  readonly group: string;
  readonly eventId?: string;
  readonly eventType?: string;
  readonly reason: string;
  readonly attempts: number;
}

/**
 * Called for each message parked in the dead-letter store (metrics, alerts). Not an interceptor:
 * parking is no call anyone runs around — the broker decides it after the last delivery, or for
 * a message no handler ever saw. Must not throw (a throwing one is logged and ignored).
 */
export type DeadLetterListener = (report: DeadLetterReport) => void;

/** One delivery or replay: the call of the delivery boundary ({@link DeliveryInterceptor}). */
export interface DeliveryCall {
  /** The service whose consumer handles it. */
  readonly service: string;
  /** The consumer that handles it (in its `delivery.group`). */
  readonly consumer: EventConsumer;
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
  /**
   * Set when the delivery is one of a batch (`BrokerSubscription.batchHandler`); see
   * {@link BatchSlot}. The call settles once the batch committed or rolled back.
   */
  readonly batch?: BatchSlot;
}

/**
 * A delivery's place in a batch: the innermost handler applies the event in the batch's one
 * transaction, reports it `applied` so the next event may go, and settles as the batch's commit
 * does — so interceptors see an outcome only once it is committed, and every event of a batch
 * that rolled back fail (each is then delivered again on its own).
 */
export interface BatchSlot {
  /** The batch's transaction, in which the inbox already recorded every event of it. */
  readonly tx: Sql;
  /** Whether the event is new to the group (else the innermost handler answers `duplicate`). */
  readonly first: boolean;
  applied(): void;
  readonly committed: Promise<void>;
}

/** How a delivery the handler did not fail ended: effect applied, or already applied (inbox). */
export type DeliveryOutcome = "processed" | "duplicate";

/**
 * Runs around the handling of each delivery and replay (DESIGN.md convention 7; the host's
 * delivery metrics and CONSUMER span), in the event's context: the innermost handler runs the
 * consumer in its transaction through the inbox and resolves with the outcome. A rejection is
 * the delivery failing: nacked and redelivered after its backoff, dead-lettered when
 * `call.deadLetters(error)` says so (a failed replay stays in the dead-letter store).
 */
export type DeliveryInterceptor = Interceptor<DeliveryCall, DeliveryOutcome>;

/** What a consumer's deliveries are handled with (see `ConsumerRuntimeOptions`). */
export interface ConsumerDeliveryOptions {
  readonly service: string;
  readonly db: Db;
  readonly store: DeadLetterStore;
  /** The broker's `kind`, for {@link DeliveryCall}. */
  readonly broker: string;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  readonly onDeadLetter: DeadLetterListener | undefined;
  /** Around each delivery and replay, first outermost; composed once here. */
  readonly interceptors: readonly DeliveryInterceptor[];
}

/** How a service's consumers handle deliveries, replays and dead letters. */
export interface ConsumerDelivery {
  /** A broker delivery: handled, logged and dead-lettered at once when unusable, else rethrown. */
  deliver(consumer: EventConsumer, event: CloudEvent, delivery: Delivery): Promise<void>;
  /**
   * The effect of one delivery or replay, in the event's context and through the interceptors:
   * inbox + handler + clearing the group's dead letter of the event, in one transaction.
   */
  handle(consumer: EventConsumer, event: CloudEvent, delivery: Delivery): Promise<DeliveryOutcome>;
  /**
   * Several first deliveries at once (`BrokerSubscription.batchHandler`): their inbox records (one
   * statement) and effects in one transaction, each in its own context and through the
   * interceptors, all or nothing. A failure is rethrown: the broker then delivers each event
   * through `deliver`, which retries and dead-letters the failing one.
   */
  deliverBatch(
    consumer: EventConsumer,
    events: readonly CloudEvent[],
    delivery: Delivery,
  ): Promise<void>;
  /** Parks a message in the dead-letter store, and reports it. */
  deadLetter(letter: DeadLetterInput): Promise<void>;
}

/** Creates the delivery handling of one service's consumers. */
export function createConsumerDelivery(options: ConsumerDeliveryOptions): ConsumerDelivery {
  const { service, db, store, clock, logger, onDeadLetter } = options;

  /** Inbox + handler + clearing the group's stale dead letter of the event (`processOnce`). */
  async function process(
    consumer: EventConsumer,
    event: CloudEvent,
    delivery: Delivery,
  ): Promise<DeliveryOutcome> {
    const result = await handleOnce(db, delivery.group, event, (tx) =>
      consumer.handle(event, tx, delivery),
    );
    return result.processed ? "processed" : "duplicate";
  }
  /** The effect of a batched delivery, whose inbox record the batch's one statement made. */
  async function processInBatch(call: DeliveryCall, batch: BatchSlot): Promise<DeliveryOutcome> {
    if (batch.first) await call.consumer.handle(call.event, batch.tx, call.delivery);
    batch.applied();
    await batch.committed;
    return batch.first ? "processed" : "duplicate";
  }
  const processCall = (call: DeliveryCall): Promise<DeliveryOutcome> =>
    call.batch === undefined
      ? process(call.consumer, call.event, call.delivery)
      : processInBatch(call, call.batch);
  const chain = chainInterceptors(options.interceptors, processCall);

  /**
   * Runs a delivery through the chain; call inside the event's context (`trace`). Without
   * interceptors (or only pass-through ones) nothing is allocated for them per delivery.
   */
  function run(
    consumer: EventConsumer,
    event: CloudEvent,
    delivery: Delivery,
    trace: TraceParent,
    batch?: BatchSlot,
  ): Promise<DeliveryOutcome> {
    if (chain === processCall && batch === undefined) return process(consumer, event, delivery);
    return chain({
      service,
      consumer,
      event,
      delivery,
      trace,
      broker: options.broker,
      deadLetters: (error) => isUnusable(error) || delivery.attempt >= delivery.maxDeliveries,
      ...(batch === undefined ? {} : { batch }),
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
    try {
      onDeadLetter?.(report);
    } catch (error) {
      // A broken alert must not fail the parking it reports on.
      logger?.warn({ err: error }, "onDeadLetter threw");
    }
    logger?.error(report, "event dead-lettered");
  }

  return {
    deadLetter,
    handle(consumer, event, delivery) {
      const context = contextFromEvent(event);
      return runInContext(context, () => run(consumer, event, delivery, context.trace));
    },
    async deliverBatch(consumer, events, delivery) {
      let commit!: { resolve: () => void; reject: (error: unknown) => void };
      const committed = new Promise<void>((resolve, reject) => {
        commit = { resolve, reject };
      });
      // Only the calls that reached their effect wait for it: a batch whose first event fails has none.
      committed.catch(() => undefined);
      const calls: Promise<DeliveryOutcome>[] = [];
      try {
        await handleEachOnce(
          db,
          delivery.group,
          events,
          (tx, event, first) =>
            new Promise<void>((applied, failed) => {
              const context = contextFromEvent(event);
              const slot: BatchSlot = { tx, first, applied, committed };
              const call = runInContext(context, () =>
                run(consumer, event, delivery, context.trace, slot),
              );
              calls.push(call);
              // Settled before `applied`: it failed, or an interceptor answered by itself.
              call.then(() => applied(), failed);
            }),
        );
        commit.resolve();
      } catch (error) {
        commit.reject(error);
        await Promise.allSettled(calls);
        // Nothing of the batch took effect; the broker now delivers its events one by one, and
        // that retries and dead-letters the failing one.
        logger?.debug(
          { err: error, group: delivery.group, events: events.length },
          "event batch failed",
        );
        throw error;
      }
      await Promise.all(calls);
    },
    async deliver(consumer, event, delivery) {
      const context = contextFromEvent(event);
      await runInContext(context, async () => {
        try {
          await run(consumer, event, delivery, context.trace);
        } catch (error) {
          logger?.warn(
            {
              err: error,
              group: delivery.group,
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
              group: delivery.group,
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
    },
  };
}

/** Whether the event itself is unusable (its data does not decode): no retry can help. */
function isUnusable(error: unknown): error is PlexusError {
  return error instanceof PlexusError && error.code === Code.InvalidArgument;
}
