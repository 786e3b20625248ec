import {
  CoalescedRun,
  systemClock,
  type Clock,
  type Db,
  type Logger,
  type Projection,
  type TimerHandle,
} from "@plexus/core";
import { readCheckpoint } from "./checkpoint.ts";
import { ensureProjectionTables } from "./projection-tables.ts";
import { catchUp, checkBatchSize, compileProjection, startOver } from "./replay.ts";

export interface ProjectionRunnerOptions {
  /** The service's database: the log and the read model live in it. */
  readonly db: Db;
  readonly projection: Projection;
  /**
   * Between looks at the log when nothing woke the runner, in ms. Default 1000. A commit that
   * appends to the log wakes it at once (`tx.notify(log.name)`, in every process on Postgres); the
   * poll is the safety net for wake-ups lost with a connection or a process.
   */
  readonly pollIntervalMs?: number;
  /** Events applied per transaction. Default 500. */
  readonly batchSize?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** Keeps one projection up to date with its log. */
export interface ProjectionRunner extends AsyncDisposable {
  /**
   * Catches up with the log (building the projection from scratch when it has no checkpoint),
   * then follows it, woken by every commit that appends to it: resolves once caught up. Rejects when the first catch-up fails (unless
   * closed meanwhile).
   */
  start(): Promise<void>;
  /**
   * Looks at the log now, without waiting for the poll; resolves once caught up (or the look
   * failed, which is logged and retried at the next poll). Looks asked for while one runs are
   * folded into one more.
   */
  catchUp(): Promise<void>;
  /** Stops following, after the batch in flight (its transaction commits or rolls back whole). */
  close(): Promise<void>;
}

/**
 * Runs a projection: the host makes one per projection a service declares
 * (`defineService({ projections })`). Every event is applied once and in log order, each batch in
 * one transaction with the checkpoint, so a crash anywhere loses nothing and applies nothing
 * twice; several replicas may run the same projection (each batch is applied by one of them).
 * An `apply` that throws holds the projection at that event (logged, retried every poll): order
 * comes before progress.
 *
 * @example
 * const runner = createProjectionRunner({ db, projection: orderHistoryProjection, logger });
 * await runner.start();
 * // … at shutdown
 * await runner.close();
 */
export function createProjectionRunner(options: ProjectionRunnerOptions): ProjectionRunner {
  const { db, projection } = options;
  const compiled = compileProjection(projection);
  const batchSize = checkBatchSize(options.batchSize ?? 500);
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  if (!Number.isSafeInteger(pollIntervalMs) || pollIntervalMs < 1) {
    throw new RangeError(`pollIntervalMs must be an integer >= 1, got ${pollIntervalMs}`);
  }
  const clock = options.clock ?? systemClock;
  const logger = options.logger?.child({ projection: projection.name });
  const stop = new AbortController();
  let position: number | undefined;
  let timer: TimerHandle = undefined;
  let starting: Promise<void> | undefined;
  let unlisten: (() => void) | undefined;

  /** Where the projection stands, building it from scratch if it never was. */
  async function initialPosition(): Promise<number> {
    await ensureProjectionTables(db);
    const current = await readCheckpoint(db, projection.name);
    if (current) return current.position;
    const built = await startOver(db, compiled, false, batchSize);
    if (built) return built.position;
    // Another process built it first.
    const now = await readCheckpoint(db, projection.name);
    if (!now) throw new Error(`projection "${projection.name}" has no checkpoint`);
    return now.position;
  }

  async function look(): Promise<void> {
    position ??= await initialPosition();
    position = (await catchUp(db, compiled, position, batchSize, stop.signal)).position;
  }

  const looks = new CoalescedRun(async () => {
    // A wake-up during start() looks after start's own look, not beside it.
    await starting?.catch(() => undefined);
    if (stop.signal.aborted) return;
    try {
      await look();
    } catch (error) {
      if (stop.signal.aborted) return;
      // The failed batch rolled back whole; its checkpoint is where the next look starts.
      logger?.error({ err: error, log: projection.log }, "projection stopped at an event");
      position = undefined;
    }
  });

  function lookNow(): Promise<void> {
    return looks.request();
  }

  function schedule(): void {
    if (stop.signal.aborted || timer !== undefined) return;
    timer = clock.setTimeout(() => {
      timer = undefined;
      void lookNow().then(schedule);
    }, pollIntervalMs);
  }

  async function close(): Promise<void> {
    stop.abort();
    unlisten?.();
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    await Promise.allSettled([looks.idle(), starting]);
  }

  return {
    async start() {
      // Listening before the first look: an append committed in between wakes it again.
      const stopListening = await db.listen(projection.log, () => void lookNow());
      if (stop.signal.aborted) stopListening();
      else unlisten = stopListening;
      starting = look();
      try {
        await starting;
      } catch (error) {
        if (stop.signal.aborted) return;
        throw error;
      } finally {
        starting = undefined;
      }
      schedule();
    },
    catchUp: lookNow,
    close,
    [Symbol.asyncDispose]: close,
  };
}
