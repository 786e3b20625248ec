import {
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
import type { OutboxHooks, PublishWrapper } from "./relay-hooks.ts";
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
  readonly hooks: OutboxHooks;
  readonly aroundPublish: PublishWrapper | undefined;
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
  const { db, broker, clock, random, logger, hooks, aroundPublish, backoff, signal } = settings;
  const failing = new Map<string, SubjectBackoff>();

  function hook(run: () => void): void {
    try {
      run();
    } catch (error) {
      logger?.warn({ err: error }, "outbox hook threw");
    }
  }

  /** Publishes one event, through `aroundPublish` when set (only then is it re-stamped). */
  function publish(event: CloudEvent): Promise<void> {
    const options = { signal };
    if (aroundPublish === undefined) return broker.publish(event, options);
    const trace = childTraceparent(parseTraceparent(event.traceparent));
    const sent: CloudEvent = { ...event, traceparent: formatTraceparent(trace) };
    return aroundPublish({ event, trace, broker: broker.kind }, () =>
      broker.publish(sent, options),
    );
  }

  async function publishInOrder(key: string, rows: readonly OutboxRow[]): Promise<boolean> {
    for (const row of rows) {
      if (signal.aborted) return false;
      const parsed = parseCloudEvent(row.event);
      if (!parsed.ok) {
        // Cannot happen through add(), which validates; a hand-edited row stays visible, unsent.
        await recordFailure(
          key,
          row,
          "?",
          "?",
          new Error(`stored event is invalid: ${parsed.reason}`),
        );
        return false;
      }
      const event = parsed.event;
      try {
        await publish(event);
      } catch (error) {
        if (signal.aborted) return false;
        await recordFailure(key, row, event.id, event.type, error);
        return false;
      }
      failing.delete(key);
      // Reported before the row is marked, so whoever sees it marked knows it was reported.
      const report = {
        eventId: event.id,
        eventType: event.type,
        lagMs: Math.max(0, clock.now() - Date.parse(event.time)),
      };
      hook(() => hooks.onPublished?.(report));
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
    eventType: string,
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
    hook(() => hooks.onPublishFailed?.({ eventId, eventType, lagMs: 0, error, failures }));
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
