import {
  Code,
  PlexusError,
  runInContext,
  type Clock,
  type CloudEvent,
  type DeadLetterInput,
  type Db,
  type Delivery,
  type EventConsumer,
  type Logger,
  type TraceParent,
} from "@plexus/core";
import type { DeadLetterStore } from "./dead-letter-store.ts";
import { contextFromEvent } from "./event-context.ts";
import { handleEachOnce, handleOnce } from "./inbox.ts";
import { runHook } from "./run-hook.ts";

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

/** What a consumer's deliveries are handled with (see `ConsumerRuntimeOptions`). */
export interface ConsumerDeliveryOptions {
  readonly service: string;
  readonly db: Db;
  readonly store: DeadLetterStore;
  /** The broker's `kind`, for {@link DeliveryCall}. */
  readonly broker: string;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  readonly hooks: ConsumerHooks;
  readonly aroundDelivery: DeliveryWrapper | undefined;
}

/** How a service's consumers handle deliveries, replays and dead letters. */
export interface ConsumerDelivery {
  /** A broker delivery: handled, reported, dead-lettered at once when unusable, else rethrown. */
  deliver(
    consumer: EventConsumer,
    group: string,
    event: CloudEvent,
    delivery: Delivery,
  ): Promise<void>;
  /**
   * Several first deliveries at once (`BrokerSubscription.batchHandler`): their inbox records and
   * effects in one transaction, each handled in its own context and through `aroundDelivery`, all
   * or nothing. Reported once committed; a failure is rethrown (the broker then delivers each
   * through `deliver`, which reports, retries and dead-letters).
   */
  deliverBatch(
    consumer: EventConsumer,
    group: string,
    events: readonly CloudEvent[],
    delivery: Delivery,
  ): Promise<void>;
  /**
   * The effect of one delivery or replay, in the event's context and through `aroundDelivery`:
   * inbox + handler + clearing the group's dead letter of the event, in one transaction.
   */
  handle(
    consumer: EventConsumer,
    group: string,
    event: CloudEvent,
    delivery: Delivery,
  ): Promise<DeliveryOutcome>;
  /** Parks a message in the dead-letter store, and reports it. */
  deadLetter(letter: DeadLetterInput): Promise<void>;
}

/** Creates the delivery handling of one service's consumers. */
export function createConsumerDelivery(options: ConsumerDeliveryOptions): ConsumerDelivery {
  const { service, db, store, clock, logger, hooks, aroundDelivery } = options;

  async function process(
    consumer: EventConsumer,
    group: string,
    event: CloudEvent,
    delivery: Delivery,
  ): Promise<DeliveryOutcome> {
    // The inbox record also clears the group's stale dead letter of the event (`processOnce`).
    const result = await handleOnce(db, group, event, (tx) => consumer.handle(event, tx, delivery));
    return result.processed ? "processed" : "duplicate";
  }

  /** What `aroundDelivery` is told of a delivery handled in the context `trace` names. */
  function deliveryCall(event: CloudEvent, delivery: Delivery, trace: TraceParent): DeliveryCall {
    return {
      service,
      event,
      delivery,
      trace,
      broker: options.broker,
      deadLetters: (error) => isUnusable(error) || delivery.attempt >= delivery.maxDeliveries,
    };
  }

  /** Runs `run` (the event's handling) through `aroundDelivery`; call inside the event's context (`trace`). */
  function wrapped(
    event: CloudEvent,
    delivery: Delivery,
    trace: TraceParent,
    run: () => Promise<DeliveryOutcome>,
  ): Promise<DeliveryOutcome> {
    return aroundDelivery === undefined
      ? run()
      : aroundDelivery(deliveryCall(event, delivery, trace), run);
  }

  function hook<K extends keyof ConsumerHooks>(
    name: K,
    report: Parameters<NonNullable<ConsumerHooks[K]>>[0],
  ): void {
    runHook(logger, "consumer", name, () =>
      (hooks[name] as ((r: typeof report) => void) | undefined)?.(report),
    );
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

  return {
    deadLetter,
    async deliverBatch(consumer, group, events, delivery) {
      const startedAt = clock.now();
      let outcomes: DeliveryOutcome[];
      try {
        outcomes = await handleEachOnce(db, group, events, (tx, event, first) => {
          const context = contextFromEvent(event);
          return runInContext(context, () =>
            wrapped(event, delivery, context.trace, async () => {
              if (!first) return "duplicate";
              await consumer.handle(event, tx, delivery);
              return "processed";
            }),
          );
        });
      } catch (error) {
        // Nothing of the batch took effect; the broker now delivers its events one by one, and
        // that reports, retries and dead-letters the failing one.
        logger?.debug({ err: error, group, events: events.length }, "event batch failed");
        throw error;
      }
      const durationMs = clock.now() - startedAt;
      events.forEach((event, i) => {
        hook("onDelivery", {
          group,
          eventId: event.id,
          eventType: event.type,
          attempt: delivery.attempt,
          outcome: outcomes[i]!,
          lagMs: Math.max(0, startedAt - Date.parse(event.time)),
          durationMs,
        });
      });
    },
    handle(consumer, group, event, delivery) {
      const context = contextFromEvent(event);
      return runInContext(context, () =>
        wrapped(event, delivery, context.trace, () => process(consumer, group, event, delivery)),
      );
    },
    async deliver(consumer, group, event, delivery) {
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
          const outcome = await wrapped(event, delivery, context.trace, () =>
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
    },
  };
}

/** Whether the event itself is unusable (its data does not decode): no retry can help. */
function isUnusable(error: unknown): error is PlexusError {
  return error instanceof PlexusError && error.code === Code.InvalidArgument;
}
