import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import {
  childTraceparent,
  formatTraceparent,
  liveLeaseOwners,
  parseTraceparent,
  type BackoffOptions,
  type Broker,
  type Clock,
  type CloudEvent,
  type Db,
  type Logger,
  type TimerHandle,
  type TraceParent,
} from "@plexus/core";
import { resolveBackoff } from "./backoff.ts";
import { parseCloudEvent } from "./parse-cloud-event.ts";

/** One published (or failed) outbox row, for metrics. */
export interface RelayReport {
  readonly eventId: string;
  readonly eventType: string;
  /** Publish time minus the event's `time`: how long the event waited in the outbox. */
  readonly lagMs: number;
}

/** Metrics and log hooks of the relay. Hooks must not throw (a throwing hook is logged). */
export interface OutboxHooks {
  onPublished?(report: RelayReport): void;
  onPublishFailed?(
    report: RelayReport & { readonly error: unknown; readonly failures: number },
  ): void;
}

/** One publish of an outbox row, as {@link PublishWrapper} sees it. */
export interface PublishCall {
  /** The event as stored: its `traceparent` names the span that wrote it (its creation context). */
  readonly event: CloudEvent;
  /**
   * The span the event is published as: the envelope the broker gets names exactly these ids as
   * its `traceparent` (a child of the stored one), so consumers' spans hang under a span recorded
   * under them. A new child per publish: a row published twice (a crash before it was marked
   * sent) is two publishes.
   */
  readonly trace: TraceParent;
  /** The broker's `kind` (`memory`, `nats`, `rabbitmq`). */
  readonly broker: string;
}

/**
 * Runs around each publish of an outbox row (the host's PRODUCER span): `publish` hands the
 * broker the event re-stamped with `call.trace`. Must call `publish` once and settle as it does.
 */
export type PublishWrapper = (call: PublishCall, publish: () => Promise<void>) => Promise<void>;

/** Relay settings (see `OutboxOptions` for their documentation and defaults). */
export interface RelaySettings {
  readonly db: Db;
  readonly broker: Broker;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger | undefined;
  readonly hooks: OutboxHooks;
  readonly aroundPublish: PublishWrapper | undefined;
  readonly pollIntervalMs: number;
  readonly batchSize: number;
  readonly maxConcurrentSubjects: number;
  readonly backoff: BackoffOptions | undefined;
  readonly leaseTtlMs: number;
  readonly relayName: string;
  readonly drainTimeoutMs: number;
}

export interface Relay {
  start(): void;
  nudge(): void;
  /** Resolves once every row unsent when called has been published (or the signal aborts). */
  flush(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
  destroy(): void;
}

interface Row {
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

/**
 * The outbox relay: publishes committed outbox rows, in order per subject (one publish at a time
 * per subject, several subjects at once), marks each row sent once the broker took it, and backs
 * off per subject when publishing fails. Woken by `nudge` (after a commit) and by a poll timer
 * (the safety net: a nudge lost in a crash, a row committed by another process).
 *
 * Only the holder of the lease row (`plexus_outbox_lease`) publishes, so replicas of a service do
 * not publish the same subject concurrently (which could reorder it); a crashed holder's lease
 * expires after `leaseTtlMs` — or at once on an exclusive database (`Db.exclusive`), where a holder
 * that is not a live relay of this process can only be a dead process's.
 */
export function createOutboxRelay(settings: RelaySettings): Relay {
  const { db, broker, clock, random, logger, hooks, aroundPublish } = settings;
  const backoff = resolveBackoff(settings.backoff, {
    initialMs: 200,
    maxMs: 30_000,
    multiplier: 2,
    jitter: "full",
  });
  const owner = randomUUID();
  const abort = new AbortController();
  const workers = new Map<string, Promise<void>>();
  const failing = new Map<string, SubjectBackoff>();
  const progressWaiters = new Set<() => void>();
  let scope: <R>(fn: () => R) => R = (fn) => fn();
  let started = false;
  let stopped = false;
  let cycle: Promise<void> | undefined;
  let cycleAgain = false;
  /** Cycles that read the table: a subject's worker re-reads only if one ran while it was busy. */
  let reads = 0;
  let pollTimer: TimerHandle = undefined;
  let leaseRenewAt = -Infinity;
  let leader = false;
  let closing: Promise<void> | undefined;

  function hook(run: () => void): void {
    try {
      run();
    } catch (error) {
      logger?.warn({ err: error }, "outbox hook threw");
    }
  }

  /** Publishes one event, through `aroundPublish` when set (only then is it re-stamped). */
  function publish(event: CloudEvent): Promise<void> {
    const options = { signal: abort.signal };
    if (aroundPublish === undefined) return broker.publish(event, options);
    const trace = childTraceparent(parseTraceparent(event.traceparent));
    const sent: CloudEvent = { ...event, traceparent: formatTraceparent(trace) };
    return aroundPublish({ event, trace, broker: broker.kind }, () =>
      broker.publish(sent, options),
    );
  }

  function progressed(): void {
    for (const wake of [...progressWaiters]) wake();
  }

  function requestCycle(): void {
    if (!started || stopped) return;
    if (cycle) {
      cycleAgain = true;
      return;
    }
    cycle = runCycle().finally(() => {
      cycle = undefined;
      progressed();
      if (cycleAgain) {
        cycleAgain = false;
        requestCycle();
      }
    });
  }

  function schedulePoll(): void {
    if (pollTimer !== undefined) clock.clearTimeout(pollTimer);
    pollTimer = undefined;
    if (stopped) return;
    const now = clock.now();
    let delay = settings.pollIntervalMs;
    // Wake up when the next resting subject may be retried. One whose rest already ended while
    // this cycle ran (time moved between its query and now) is due at once, but never sooner than
    // minRetryMs, so a subject that cannot start (every worker slot busy) is not a hot loop.
    for (const [key, state] of failing) {
      if (!workers.has(key)) delay = Math.min(delay, Math.max(minRetryMs, state.until - now));
    }
    pollTimer = clock.setTimeout(() => {
      pollTimer = undefined;
      scope(requestCycle);
    }, delay);
  }

  /** Takes or renews the lease; false while another relay holds it. */
  async function holdLease(): Promise<boolean> {
    const now = clock.now();
    if (leader && now < leaseRenewAt) return true;
    const { rows } = await db.query(
      `INSERT INTO plexus_outbox_lease (name, owner, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
       WHERE plexus_outbox_lease.owner = EXCLUDED.owner OR plexus_outbox_lease.expires_at < $4
         OR plexus_outbox_lease.owner <> ALL($5::text[])
       RETURNING owner`,
      // On a shared database the other holders are unknown (NULL: `<> ALL` is never true).
      [
        settings.relayName,
        owner,
        now + settings.leaseTtlMs,
        now,
        db.exclusive ? liveLeaseOwners.besides(owner) : null,
      ],
    );
    const was = leader;
    leader = rows.length === 1;
    leaseRenewAt = now + settings.leaseTtlMs / 3;
    if (leader !== was) {
      logger?.info(
        { relay: settings.relayName, leader },
        leader ? "outbox relay leads" : "outbox relay stands by",
      );
    }
    return leader;
  }

  async function runCycle(): Promise<void> {
    try {
      if (!(await holdLease())) return;
      const now = clock.now();
      // A failing subject keeps its failure count until it succeeds: that is what grows its backoff.
      const resting = [...failing].filter(([, state]) => state.until > now).map(([key]) => key);
      const busy = [...workers.keys(), ...resting];
      reads++;
      const { rows } = await db.query<Row>(
        `SELECT position, ordering_key, event FROM plexus_outbox
         WHERE sent_at IS NULL
           AND ordering_key NOT IN (SELECT jsonb_array_elements_text($1::jsonb))
         ORDER BY position LIMIT $2`,
        [JSON.stringify(busy), settings.batchSize],
      );
      // A finished subject reads again only if rows may be left: a full batch, subjects left
      // for want of a slot, or a read since this one (it skipped the busy subject). Otherwise
      // only rows committed after this read are unseen, and their nudge or a poll reads them.
      const batch = { leftRows: rows.length >= settings.batchSize, readAt: reads };
      for (const [key, list] of Map.groupBy(rows, (row) => row.ordering_key)) {
        if (workers.size >= settings.maxConcurrentSubjects || stopped) {
          batch.leftRows = true;
          break;
        }
        const worker = publishInOrder(key, list)
          .catch((): boolean => false)
          .then((clean) => {
            workers.delete(key);
            progressed();
            if (!clean || batch.leftRows || reads !== batch.readAt) requestCycle();
          });
        workers.set(key, worker);
      }
    } catch (error) {
      if (!stopped)
        logger?.error({ err: error }, "outbox relay poll failed; retrying at the next poll");
    } finally {
      schedulePoll();
    }
  }

  /** Publishes a subject's rows in order; false when it stopped short (a failure, closing). */
  async function publishInOrder(key: string, rows: readonly Row[]): Promise<boolean> {
    for (const row of rows) {
      if (stopped && abort.signal.aborted) return false;
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
        if (abort.signal.aborted) return false;
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
    row: Row,
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

  async function unsentUpTo(limit: number | bigint): Promise<number> {
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::integer AS n FROM plexus_outbox WHERE sent_at IS NULL AND position <= $1",
      [limit],
    );
    return rows[0]?.n ?? 0;
  }

  /** Resolves at the next progress: a subject's batch done, a poll done, or the relay stopping. */
  function nextProgress(signal: AbortSignal | undefined): {
    wait: Promise<void>;
    cancel: () => void;
  } {
    let wake!: () => void;
    const wait = new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        progressWaiters.delete(wake);
        reject(signal?.reason as Error);
      };
      wake = () => {
        progressWaiters.delete(wake);
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    progressWaiters.add(wake);
    return { wait, cancel: wake };
  }

  async function flush(signal?: AbortSignal): Promise<void> {
    const { rows } = await db.query<{ max: number | bigint | null }>(
      "SELECT max(position) AS max FROM plexus_outbox WHERE sent_at IS NULL",
    );
    const target = rows[0]?.max;
    if (target === null || target === undefined) return;
    // One nudge, then wait for real progress between checks. Re-nudging on every check would be
    // a loop of queries that, on PGlite (which answers in microtasks), never yields to timers/IO.
    scope(requestCycle);
    for (;;) {
      signal?.throwIfAborted();
      // Registered before the check, so progress made during the check is not missed.
      const progress = nextProgress(signal);
      try {
        if ((await unsentUpTo(target)) === 0) return;
        if (!started || stopped) throw new Error("outbox relay is not running");
        await progress.wait;
      } finally {
        progress.cancel();
      }
    }
  }

  return {
    start() {
      if (started) return;
      started = true;
      liveLeaseOwners.add(owner);
      // Relay work runs in the context of start(), never in the context of whoever nudged it
      // (typically code still inside its transaction, where the storage refuses other statements).
      scope = AsyncLocalStorage.snapshot();
      scope(requestCycle);
    },
    nudge() {
      if (started && !stopped) scope(requestCycle);
    },
    flush,
    close() {
      closing ??= (async () => {
        if (started && !stopped && leader) {
          const drain = new AbortController();
          const timer = clock.setTimeout(() => drain.abort(), settings.drainTimeoutMs);
          try {
            await flush(drain.signal);
          } catch (error) {
            if (!drain.signal.aborted) logger?.warn({ err: error }, "outbox flush on close failed");
          } finally {
            clock.clearTimeout(timer);
          }
        }
        stopped = true;
        if (pollTimer !== undefined) clock.clearTimeout(pollTimer);
        abort.abort(new Error("outbox relay closed"));
        await cycle;
        await Promise.allSettled([...workers.values()]);
        if (leader) {
          await db
            .query("DELETE FROM plexus_outbox_lease WHERE name = $1 AND owner = $2", [
              settings.relayName,
              owner,
            ])
            .catch((error: unknown) =>
              logger?.warn({ err: error }, "could not release the outbox lease"),
            );
        }
        liveLeaseOwners.delete(owner);
        progressed();
      })();
      return closing;
    },
    destroy() {
      liveLeaseOwners.delete(owner);
      stopped = true;
      if (pollTimer !== undefined) clock.clearTimeout(pollTimer);
      abort.abort(new Error("outbox relay destroyed"));
      progressed();
    },
  };
}
