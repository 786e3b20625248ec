import {
  retryAfterMsOf,
  type CloudEvent,
  sleep,
  type BrokerSubscription,
  type Clock,
  type DeadLetterInput,
  type Logger,
  type Semaphore,
} from "@plexus/core";
import { createRedeliverySchedule, type SubscriptionSettings } from "@plexus/messaging";
import type { RetrySchedule } from "@plexus/resilience";
import { fromKafkaRecord } from "./cloud-event-binding.ts";

/** What one member's deliveries share. */
export interface RecordDeliveryOptions {
  readonly subscription: BrokerSubscription;
  readonly settings: SubscriptionSettings;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger | undefined;
  /** Aborted by `close`: no new attempt starts, backoff waits end, the record stays uncommitted. */
  readonly stop: AbortSignal;
  /** Aborted by `destroy`: the handlers' `delivery.signal`. */
  readonly abort: AbortSignal;
  /** Bounds the handlers running at once (the subscription's `concurrency`). */
  readonly slots: Semaphore;
}

/** A record as read from the partition: its headers (strings) and value (bytes). */
export interface ConsumedRecord {
  readonly headers: ReadonlyMap<string, string>;
  readonly value: Buffer | undefined;
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

/**
 * Delivers one record to the subscription, the way every adapter does: a malformed envelope goes
 * to the dead letters at once (attempt 0, with the raw payload), a type the subscription did not
 * ask for is skipped, a handler failure is retried after the subscription's backoff (or the
 * failure's pushback) until `maxDeliveries`, then dead-lettered; a failed dead-lettering is tried
 * again after backoff, so a record is never dropped.
 *
 * The retries wait here, holding the record's partition (not a concurrency slot): a key's events
 * stay in order, at the price of the partition's other keys waiting for the backoff.
 *
 * Resolves true when the record may be committed (handled, skipped or parked), false when the
 * member stopped first: the record stays uncommitted and is redelivered to the group.
 */
export async function deliverRecord(
  options: RecordDeliveryOptions,
  record: ConsumedRecord,
): Promise<boolean> {
  const { subscription, settings, clock, stop } = options;
  const read = fromKafkaRecord(record.headers, record.value);
  if (!read.ok) {
    const now = clock.now();
    return park(options, {
      group: subscription.group,
      raw: read.raw(),
      reason: `malformed envelope: ${read.reason}`,
      attempts: 0,
      firstFailureAt: now,
      lastFailureAt: now,
    });
  }
  const event = read.event;
  if (!settings.filter(event.type)) return true;

  // Made at the first failure: a record handled at once allocates no schedule.
  let schedule: RetrySchedule | undefined;
  let firstFailureAt: number | undefined;
  for (let attempt = 1; ; attempt++) {
    if (stop.aborted) return false;
    let failure: unknown;
    await options.slots.acquire();
    try {
      await subscription.handler(event, {
        group: subscription.group,
        attempt,
        maxDeliveries: settings.maxDeliveries,
        signal: options.abort,
      });
      return true;
    } catch (error) {
      failure = error;
    } finally {
      options.slots.release();
    }
    if (stop.aborted) return false;
    const now = clock.now();
    firstFailureAt ??= now;
    const reason = failure instanceof Error ? failure.message : String(failure);
    schedule ??= createRedeliverySchedule(settings.maxDeliveries, settings.backoff, options.random);
    const decision = schedule.next(retryAfterMsOf(failure));
    if (!decision.retry) {
      return park(options, {
        group: subscription.group,
        event,
        reason,
        attempts: attempt,
        firstFailureAt,
        lastFailureAt: now,
      });
    }
    options.logger?.warn(
      {
        group: subscription.group,
        eventId: event.id,
        attempt,
        delayMs: decision.delayMs,
        delaySource: decision.source,
        err: failure,
      },
      "event handler failed; redelivering after backoff",
    );
    if (!(await wait(options, decision.delayMs))) return false;
  }
}

/**
 * Delivers records of one partition read together: in one call of the subscription's
 * `batchHandler` when it has one and there are several (the consumer runtime: one transaction for
 * their inbox records and effects), else — and when that batch fails, or a record in it has no
 * valid envelope — one by one through `deliverRecord`, with its retries and dead letters.
 *
 * Resolves with how many of the records, from the first, may be committed: all of them unless
 * the member stopped first.
 */
export async function deliverRecords(
  options: RecordDeliveryOptions,
  records: readonly ConsumedRecord[],
): Promise<number> {
  const { subscription, settings } = options;
  if (subscription.batchHandler !== undefined && records.length > 1) {
    const events: CloudEvent[] = [];
    let readable = true;
    for (const record of records) {
      const read = fromKafkaRecord(record.headers, record.value);
      if (!read.ok) {
        readable = false;
        break;
      }
      if (settings.filter(read.event.type)) events.push(read.event);
    }
    // Types the subscription did not ask for are skipped, as one by one.
    if (readable && events.length === 0) return records.length;
    if (readable) {
      await options.slots.acquire();
      try {
        if (options.stop.aborted) return 0;
        await subscription.batchHandler(events, {
          group: subscription.group,
          attempt: 1,
          maxDeliveries: settings.maxDeliveries,
          signal: options.abort,
        });
        return records.length;
      } catch {
        // None took effect: each goes its own way below, and a failing one is reported there.
      } finally {
        options.slots.release();
      }
    }
  }
  let done = 0;
  for (const record of records) {
    if (!(await deliverRecord(options, record))) return done;
    done += 1;
  }
  return done;
}

/** Hands a letter to the subscription's dead-letter store until it takes it (or the member stops). */
async function park(options: RecordDeliveryOptions, letter: DeadLetterInput): Promise<boolean> {
  for (let failures = 1; ; failures++) {
    try {
      await options.subscription.deadLetter(letter);
      return true;
    } catch (error) {
      if (options.stop.aborted) return false;
      options.logger?.error(
        { group: letter.group, eventId: letter.event?.id, err: error },
        "could not store a dead letter; retrying after backoff",
      );
      const delayMs = options.settings.backoff.delay(failures, 0, options.random);
      if (!(await wait(options, delayMs))) return false;
    }
  }
}

/** Waits `ms` on the member's clock: false when the member stopped first. */
async function wait(options: RecordDeliveryOptions, ms: number): Promise<boolean> {
  try {
    await sleep(ms, options.stop, options.clock);
    return true;
  } catch {
    return false;
  }
}
