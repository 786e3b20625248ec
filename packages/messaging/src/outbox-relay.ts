import { AsyncLocalStorage } from "node:async_hooks";
import { CoalescedRun, type BackoffOptions, type TimerHandle } from "@plexus/core";
import { resolveBackoff } from "./backoff.ts";
import { createRelayLease } from "./relay-lease.ts";
import { flushRelay, RelayProgress } from "./relay-progress.ts";
import {
  createSubjectPublisher,
  type OutboxRow,
  type SubjectPublisherSettings,
} from "./relay-subjects.ts";

/** Relay settings (see `OutboxOptions` for their documentation and defaults). */
export interface RelaySettings extends Omit<SubjectPublisherSettings, "backoff" | "signal"> {
  readonly pollIntervalMs: number;
  readonly batchSize: number;
  readonly maxConcurrentSubjects: number;
  readonly backoff: BackoffOptions | undefined;
  readonly leaseTtlMs: number;
  readonly relayName: string;
  readonly drainTimeoutMs: number;
}

/** The wake-up channel of a service's relays: `Outbox.add` notifies it in the writer's transaction. */
export const outboxChannel = "outbox";

export interface Relay {
  /** Listens for committed rows (`outboxChannel`), then runs a first cycle. */
  start(): Promise<void>;
  /** Whether this relay is running and holds the lease: the one that publishes. */
  readonly leading: boolean;
  nudge(): void;
  /** Resolves once every row unsent when called has been published (or the signal aborts). */
  flush(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
  destroy(): void;
}

/**
 * The outbox relay: publishes committed outbox rows, in order per subject, marks them sent once
 * the broker took them, and backs off per subject when publishing fails (`relay-subjects.ts`).
 * Each read goes out in one batch where the broker has `publishBatch` (Kafka), else one publish
 * at a time per subject, several subjects at once. Woken by every commit that added a
 * row (`Db.listen` on `outboxChannel`: in this process, and on Postgres in the others too), by
 * `nudge`, and by a poll timer (the safety net: a wake-up lost in a crash or while the LISTEN
 * connection was down). Only the holder of the lease publishes (`relay-lease.ts`).
 */
export function createOutboxRelay(settings: RelaySettings): Relay {
  const { db, clock, logger } = settings;
  const abort = new AbortController();
  const lease = createRelayLease(settings);
  const subjects = createSubjectPublisher({
    ...settings,
    backoff: resolveBackoff(settings.backoff, {
      initialMs: 200,
      maxMs: 30_000,
      multiplier: 2,
      jitter: "full",
    }),
    signal: abort.signal,
  });
  const workers = new Map<string, Promise<void>>();
  const progress = new RelayProgress();
  let scope: <R>(fn: () => R) => R = (fn) => fn();
  let started = false;
  let stopped = false;
  const cycles = new CoalescedRun(async () => {
    if (stopped) return;
    await runCycle();
    progress.progressed();
  });
  /** Cycles that read the table: a subject's worker re-reads only if one ran while it was busy. */
  let reads = 0;
  let pollTimer: TimerHandle = undefined;
  let unlisten: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  function requestCycle(): void {
    if (started && !stopped) void cycles.request();
  }

  function schedulePoll(): void {
    if (pollTimer !== undefined) clock.clearTimeout(pollTimer);
    pollTimer = undefined;
    if (stopped) return;
    // Wake up when the next resting subject may be retried, at the latest at the next poll.
    const delay = subjects.nextRetryIn(clock.now(), workers, settings.pollIntervalMs);
    pollTimer = clock.setTimeout(() => {
      pollTimer = undefined;
      scope(requestCycle);
    }, delay);
  }

  async function runCycle(): Promise<void> {
    try {
      if (!(await lease.hold())) return;
      const busy = [...workers.keys(), ...subjects.resting(clock.now())];
      reads++;
      const { rows } = await db.query<OutboxRow>(
        `SELECT position, ordering_key, event FROM plexus_outbox
         WHERE sent_at IS NULL
           AND ordering_key NOT IN (SELECT jsonb_array_elements_text($1::jsonb))
         ORDER BY position LIMIT $2`,
        [JSON.stringify(busy), settings.batchSize],
      );
      // A finished subject reads again only if rows may be left: a full batch, subjects left
      // for want of a slot, or a read since this one (it skipped the busy subject). Otherwise
      // only rows committed after this read are unseen, and their wake-up or a poll reads them.
      const batch = { leftRows: rows.length >= settings.batchSize, readAt: reads };
      // A broker that takes a batch in one request gets the whole read at once (Kafka: one
      // produce request, one statement marks them sent); what it leaves (a failed batch, a
      // subject with an unreadable row) goes subject by subject, with per-subject backoff.
      const left = await subjects.publishBatch(rows);
      if (left.length < rows.length && batch.leftRows) requestCycle();
      for (const [key, list] of Map.groupBy(left, (row) => row.ordering_key)) {
        if (workers.size >= settings.maxConcurrentSubjects || stopped) {
          batch.leftRows = true;
          break;
        }
        const worker = subjects
          .publishInOrder(key, list)
          .catch((): boolean => false)
          .then((clean) => {
            workers.delete(key);
            progress.progressed();
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

  const flush = (signal?: AbortSignal): Promise<void> =>
    flushRelay(
      { db, progress, kick: () => scope(requestCycle), running: () => started && !stopped },
      signal,
    );

  return {
    get leading() {
      return started && !stopped && lease.leader;
    },
    async start() {
      if (started) return;
      started = true;
      lease.open();
      // Relay work runs in the context of start(), never in the context of whoever nudged it
      // (typically code still inside its transaction, where the storage refuses other statements).
      scope = AsyncLocalStorage.snapshot();
      // Listening before the first read: a row committed in between wakes it again.
      const stop = await db.listen(outboxChannel, requestCycle);
      if (stopped) stop();
      else unlisten = stop;
      scope(requestCycle);
    },
    nudge() {
      if (started && !stopped) scope(requestCycle);
    },
    flush,
    close() {
      closing ??= (async () => {
        if (started && !stopped && lease.leader) {
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
        unlisten?.();
        if (pollTimer !== undefined) clock.clearTimeout(pollTimer);
        abort.abort(new Error("outbox relay closed"));
        await cycles.idle();
        await Promise.allSettled([...workers.values()]);
        await lease.close();
        progress.progressed();
      })();
      return closing;
    },
    destroy() {
      lease.drop();
      stopped = true;
      unlisten?.();
      if (pollTimer !== undefined) clock.clearTimeout(pollTimer);
      abort.abort(new Error("outbox relay destroyed"));
      progress.progressed();
    },
  };
}
