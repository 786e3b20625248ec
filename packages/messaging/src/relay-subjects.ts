import {
  chainInterceptors,
  rejectedWith,
  childTraceparent,
  formatTraceparent,
  parseTraceparent,
  type Broker,
  type Clock,
  type CloudEvent,
  type Db,
  type Logger,
} from "@plexus/core";
import type { ResolvedBackoff } from "./backoff.ts";
import type { PublishBatchSlot, PublishCall, PublishInterceptor } from "./publish-call.ts";
import { parseCloudEvent } from "./parse-cloud-event.ts";

/** One unsent outbox row, as the relay reads it. */
export interface OutboxRow {
  position: number | bigint;
  ordering_key: string;
  event: unknown;
}

/** Failures of a subject, and when it may be tried again. */
interface SubjectBackoff {
  failures: number;
  until: number;
}

/** The smallest retry delay: full jitter may draw 0, which must not become a hot loop. */
const minRetryMs = 10;

export interface SubjectPublisherSettings {
  readonly db: Db;
  readonly broker: Broker;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger | undefined;
  /** Around each publish, first outermost; composed once here. */
  readonly interceptors: readonly PublishInterceptor[];
  readonly backoff: ResolvedBackoff;
  /** Aborted when the relay closes or is destroyed: publishes in flight give up. */
  readonly signal: AbortSignal;
}

/** Publishes subjects' rows in order and keeps each failing subject's backoff. */
export interface SubjectPublisher {
  /** Publishes a subject's rows in order; false when it stopped short (a failure, closing). */
  publishInOrder(key: string, rows: readonly OutboxRow[]): Promise<boolean>;
  /**
   * Publishes rows of several subjects in one broker request (`Broker.publishBatch`) and marks
   * them sent in one statement. Returns the rows left for `publishInOrder`: all of them when the
   * broker has no batch publish or the batch failed, else those of subjects with an unreadable
   * row.
   */
  publishBatch(rows: readonly OutboxRow[]): Promise<OutboxRow[]>;
  /** Subjects resting after a failure at `now`: the relay's read leaves them out. */
  resting(now: number): string[];
  /**
   * How long until a resting subject that no worker holds may be retried (at least `minRetryMs`,
   * so a subject that cannot start for want of a slot is not a hot loop), capped at `cap`.
   */
  nextRetryIn(now: number, working: ReadonlyMap<string, unknown>, cap: number): number;
}

export function createSubjectPublisher(settings: SubjectPublisherSettings): SubjectPublisher {
  const { db, broker, clock, random, logger, backoff, signal } = settings;
  const failing = new Map<string, SubjectBackoff>();
  const options = { signal };
  const publishStamped = (call: PublishCall): Promise<void> => {
    const stamped = { ...call.event, traceparent: formatTraceparent(call.trace) };
    return call.batch === undefined ? broker.publish(stamped, options) : call.batch.add(stamped);
  };
  const chain = chainInterceptors(settings.interceptors, publishStamped);

  /**
   * Publishes one event through the interceptors. Without any (or only pass-through ones) the
   * stored event goes out as it is: no call, no re-stamp, nothing allocated per publish.
   */
  function publish(event: CloudEvent): Promise<void> {
    if (chain === publishStamped) return broker.publish(event, options);
    return chain({ event, trace: publishTrace(event), broker: broker.kind });
  }

  /**
   * Publishes `events` in one broker request, each through the interceptors: every call's
   * innermost handler adds its re-stamped event to the request (`PublishCall.batch`), which goes
   * once every call has added its event or settled without (an interceptor that answered or
   * failed by itself). Settles once every call settled, rejecting when any of them failed.
   */
  async function publishAll(
    events: readonly CloudEvent[],
    publishBatchOf: NonNullable<Broker["publishBatch"]>,
  ): Promise<void> {
    if (chain === publishStamped) return publishBatchOf(events, options);
    const sent: CloudEvent[] = [];
    let waiting = events.length;
    let settle!: { resolve: () => void; reject: (error: unknown) => void };
    const request = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const arrived = (): void => {
      if (--waiting > 0) return;
      if (sent.length === 0) settle.resolve();
      else publishBatchOf(sent, options).then(settle.resolve, settle.reject);
    };
    const calls = events.map((event) => {
      let added = false;
      const batch: PublishBatchSlot = {
        add(stamped) {
          if (!added) {
            added = true;
            sent.push(stamped);
            arrived();
          }
          return request;
        },
      };
      let call: Promise<void>;
      try {
        call = chain({ event, trace: publishTrace(event), broker: broker.kind, batch });
      } catch (error) {
        // An interceptor that threw instead of rejecting must not hold the others' request back.
        call = rejectedWith(error);
      }
      return call.finally(() => {
        if (!added) {
          added = true;
          arrived();
        }
      });
    });
    const settled = await Promise.allSettled(calls);
    const failed = settled.find((result) => result.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }

  /** Marks published rows sent, in one statement; false (logged) when that failed. */
  async function markSent(rows: readonly OutboxRow[]): Promise<boolean> {
    if (rows.length === 0) return true;
    try {
      await db.query(
        "UPDATE plexus_outbox SET sent_at = $2::timestamptz WHERE position = ANY($1::bigint[])",
        [rows.map((row) => String(row.position)), new Date(clock.now()).toISOString()],
      );
      return true;
    } catch (error) {
      // Published but not marked: they will be published again; consumers' inboxes dedupe.
      logger?.error({ err: error, rows: rows.length }, "could not mark outbox rows sent");
      return false;
    }
  }

  async function publishInOrder(key: string, rows: readonly OutboxRow[]): Promise<boolean> {
    const sent: OutboxRow[] = [];
    let clean = true;
    for (const row of rows) {
      if (signal.aborted) {
        clean = false;
        break;
      }
      const parsed = parseCloudEvent(row.event);
      if (!parsed.ok) {
        // Cannot happen through add(), which validates; a hand-edited row stays visible, unsent.
        const reason = new Error(`stored event is invalid: ${parsed.reason}`);
        await recordFailure(key, row, "?", reason);
        clean = false;
        break;
      }
      const event = parsed.event;
      try {
        await publish(event);
      } catch (error) {
        if (!signal.aborted) await recordFailure(key, row, event.id, error);
        clean = false;
        break;
      }
      failing.delete(key);
      sent.push(row);
    }
    // The subject's published rows are marked together: one statement, whatever stopped it.
    return (await markSent(sent)) && clean;
  }

  async function publishBatch(rows: readonly OutboxRow[]): Promise<OutboxRow[]> {
    const publishBatchOf = broker.publishBatch?.bind(broker);
    if (publishBatchOf === undefined || rows.length === 0) return [...rows];
    const parsed = rows.map((row) => parseCloudEvent(row.event));
    // A subject with an unreadable row goes the per-subject way (which records why), in order.
    const unreadable = new Set(rows.filter((_, i) => !parsed[i]!.ok).map((r) => r.ordering_key));
    const events: CloudEvent[] = [];
    const batched: OutboxRow[] = [];
    const left: OutboxRow[] = [];
    rows.forEach((row, i) => {
      const read = parsed[i]!;
      if (read.ok && !unreadable.has(row.ordering_key)) {
        events.push(read.event);
        batched.push(row);
      } else {
        left.push(row);
      }
    });
    if (events.length === 0) return left;
    try {
      await publishAll(events, publishBatchOf);
    } catch (error) {
      if (!signal.aborted) {
        logger?.warn(
          { err: error, events: events.length },
          "outbox batch publish failed; publishing subject by subject",
        );
      }
      // Some may have landed: the per-subject way publishes them again, inboxes dedupe.
      return rows.slice();
    }
    for (const row of batched) failing.delete(row.ordering_key);
    await markSent(batched);
    return left;
  }

  async function recordFailure(
    key: string,
    row: OutboxRow,
    eventId: string,
    error: unknown,
  ): Promise<void> {
    const failures = (failing.get(key)?.failures ?? 0) + 1;
    // Only the delay: the relay never gives up on a row (nor honours an attempt cap).
    const delay = Math.max(minRetryMs, backoff.delay(failures, 0, random));
    failing.set(key, { failures, until: clock.now() + delay });
    const message = error instanceof Error ? error.message : String(error);
    logger?.warn(
      { err: error, eventId, failures, retryInMs: delay },
      "outbox publish failed; backing off",
    );
    try {
      await db.query(
        "UPDATE plexus_outbox SET attempts = attempts + 1, last_error = $2 WHERE position = $1",
        [row.position, message.replaceAll("\u0000", "\\u0000").slice(0, 2000)],
      );
    } catch (updateError) {
      logger?.warn({ err: updateError }, "could not record an outbox publish failure");
    }
  }

  return {
    publishInOrder,
    publishBatch,
    // A failing subject keeps its failure count until it succeeds: that is what grows its backoff.
    resting: (now) => [...failing].filter(([, state]) => state.until > now).map(([key]) => key),
    nextRetryIn(now, working, cap) {
      let delay = cap;
      // One whose rest already ended while a cycle ran (time moved between its query and now) is
      // due at once, but never sooner than minRetryMs.
      for (const [key, state] of failing) {
        if (!working.has(key)) delay = Math.min(delay, Math.max(minRetryMs, state.until - now));
      }
      return delay;
    },
  };
}

/** The span an event is published as: a new child of the one that wrote it (`PublishCall.trace`). */
function publishTrace(event: CloudEvent) {
  return childTraceparent(parseTraceparent(event.traceparent));
}
