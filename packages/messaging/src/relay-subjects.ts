import {
  chainInterceptors,
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
import type { PublishCall, PublishInterceptor } from "./publish-call.ts";
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
  const publishStamped = (call: PublishCall): Promise<void> =>
    broker.publish({ ...call.event, traceparent: formatTraceparent(call.trace) }, options);
  const chain = chainInterceptors(settings.interceptors, publishStamped);

  /**
   * Publishes one event through the interceptors. Without any (or only pass-through ones) the
   * stored event goes out as it is: no call, no re-stamp, nothing allocated per publish.
   */
  function publish(event: CloudEvent): Promise<void> {
    if (chain === publishStamped) return broker.publish(event, options);
    const trace = childTraceparent(parseTraceparent(event.traceparent));
    return chain({ event, trace, broker: broker.kind });
  }

  async function publishInOrder(key: string, rows: readonly OutboxRow[]): Promise<boolean> {
    for (const row of rows) {
      if (signal.aborted) return false;
      const parsed = parseCloudEvent(row.event);
      if (!parsed.ok) {
        // Cannot happen through add(), which validates; a hand-edited row stays visible, unsent.
        await recordFailure(key, row, "?", new Error(`stored event is invalid: ${parsed.reason}`));
        return false;
      }
      const event = parsed.event;
      try {
        await publish(event);
      } catch (error) {
        if (signal.aborted) return false;
        await recordFailure(key, row, event.id, error);
        return false;
      }
      failing.delete(key);
      try {
        await db.query("UPDATE plexus_outbox SET sent_at = $2::timestamptz WHERE position = $1", [
          row.position,
          new Date(clock.now()).toISOString(),
        ]);
      } catch (error) {
        // Published but not marked: it will be published again; consumers' inboxes dedupe.
        logger?.error({ err: error, eventId: event.id }, "could not mark an outbox row sent");
        return false;
      }
    }
    return true;
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
