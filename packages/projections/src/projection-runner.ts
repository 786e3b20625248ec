import {
  CoalescedRun,
  systemClock,
  type BackoffOptions,
  type Clock,
  type Db,
  type Logger,
  type Projection,
  type TimerHandle,
} from "@plexus/core";
import { ProjectionApplyError } from "./apply-error.ts";
import { readCheckpoint } from "./checkpoint.ts";
import { createStall, type ProjectionFailure } from "./projection-stall.ts";
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
  /**
   * Between looks after a failed one (an `apply` threw, or the database failed). Default:
   * messaging's redelivery backoff (0.5 s ×2 up to 30 s, full jitter). Wake-ups are ignored while
   * stalled, so a busy log does not turn the retries into a hot loop.
   */
  readonly backoff?: BackoffOptions;
  /** Uniform in [0, 1), for the backoff's jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** Called on every failed look (a metric's counter). */
  readonly onFailure?: (error: unknown) => void;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** Where a projection stands (the admin API's view, ADR 19). */
export interface ProjectionStatus {
  readonly name: string;
  readonly log: string;
  /**
   * `starting` until its first catch-up ends, `live` when following the log, `stalled` while
   * failed looks are retried (see `failure`), `closed` once stopped.
   */
  readonly state: "starting" | "live" | "stalled" | "closed";
  /** Position of the last log event applied (0: none, or never built). */
  readonly position: number;
  /** An unfinished rebuild is being replayed. */
  readonly rebuilding: boolean;
  /** Position of the log's last event (0: empty). */
  readonly head: number;
  /** `head - position`: the events not applied yet, counting holes of rolled-back appends. */
  readonly lag: number;
  readonly failure?: ProjectionFailure;
}

/** Keeps one projection up to date with its log. */
export interface ProjectionRunner extends AsyncDisposable {
  /**
   * Catches up with the log (building the projection from scratch when it has no checkpoint),
   * then follows it, woken by every commit that appends to it: resolves once caught up, or once
   * an `apply` failed (the runner is then `stalled`, retrying with backoff, and `ready()` stays
   * false until it catches up). Rejects when the first catch-up fails otherwise (a missing log
   * table, the database), unless closed meanwhile.
   */
  start(): Promise<void>;
  /**
   * Looks at the log now, without waiting for the poll or the backoff; resolves once caught up
   * (or the look failed, which is logged and retried after the backoff). Looks asked for while one
   * runs are folded into one more.
   */
  catchUp(): Promise<void>;
  /**
   * Whether the projection has caught up with its log since `start()`: the host's readiness check
   * of the projection. A later stall does not clear it (ADR 19, "Failing applies").
   */
  ready(): boolean;
  /** Where the projection stands: its checkpoint and the log's head (one statement), and its state. */
  status(): Promise<ProjectionStatus>;
  /** Stops following, after the batch in flight (its transaction commits or rolls back whole). */
  close(): Promise<void>;
}

/**
 * Runs a projection: the host makes one per projection a service declares
 * (`defineService({ projections })`). Every event is applied once and in log order, each batch in
 * one transaction with the checkpoint, so a crash anywhere loses nothing and applies nothing
 * twice; several replicas may run the same projection (each batch is applied by one of them).
 * An `apply` that throws holds the projection right before that event (the events before it are
 * applied), logged and retried with backoff: order comes before progress (ADR 19).
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
  const stall = createStall({
    backoff: options.backoff,
    random: options.random ?? Math.random,
    clock,
    logger,
    log: projection.log,
    onFailure: options.onFailure,
  });
  const stop = new AbortController();
  let position: number | undefined;
  let caughtUp = false;
  // A look the backoff's timer or a caller asked for: while stalled, only those run.
  let due = false;
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

  /** One look at the log; a failure rolled its batch back, and its checkpoint is where the next starts. */
  async function look(): Promise<void> {
    try {
      position ??= await initialPosition();
      position = (await catchUp(db, compiled, position, batchSize, stop.signal)).position;
    } catch (error) {
      position = undefined;
      throw error;
    }
    caughtUp = true;
    if (stall.failure) {
      stall.recovered();
      schedule(pollIntervalMs);
    }
  }

  /** Records a failed look (logged, counted) and schedules the next one after the backoff. */
  function failed(error: unknown): void {
    if (!stop.signal.aborted) schedule(stall.failed(error));
  }

  const looks = new CoalescedRun(async () => {
    // A wake-up during start() looks after start's own look, not beside it.
    await starting?.catch(() => undefined);
    if (stop.signal.aborted || (stall.failure && !due)) return;
    due = false;
    await look().catch(failed);
  });

  /** A look now, stalled or not (the timer's, or a caller's). */
  function lookNow(): Promise<void> {
    due = true;
    return looks.request();
  }

  /** The next look by timer, `delayMs` from now (the poll, or the backoff after a failure). */
  function schedule(delayMs: number): void {
    if (stop.signal.aborted) return;
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = clock.setTimeout(() => {
      timer = undefined;
      void lookNow().then(() => {
        if (timer === undefined) schedule(pollIntervalMs);
      });
    }, delayMs);
  }

  async function status(): Promise<ProjectionStatus> {
    const { rows } = await db.query<{
      position: number | string | null;
      rebuilding: boolean | null;
      head: number | string;
    }>(compiled.sql.standing, [projection.name]);
    const row = rows[0];
    const at = Number(row?.position ?? 0);
    const head = Number(row?.head ?? 0);
    const { failure } = stall;
    const state = stop.signal.aborted
      ? "closed"
      : failure
        ? "stalled"
        : caughtUp
          ? "live"
          : "starting";
    return {
      name: projection.name,
      log: projection.log,
      state,
      position: at,
      rebuilding: row?.rebuilding === true,
      head,
      lag: Math.max(0, head - at),
      ...(failure ? { failure } : {}),
    };
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
      // Listening before the first look: an append committed in between wakes it again. While
      // stalled, wake-ups wait for the backoff's timer.
      const stopListening = await db.listen(projection.log, () => void looks.request());
      if (stop.signal.aborted) stopListening();
      else unlisten = stopListening;
      starting = look();
      try {
        await starting;
      } catch (error) {
        if (stop.signal.aborted) return;
        // A failing apply is an incident to report, not a reason to refuse the start: the
        // runner retries it, and the host's readiness stays false until it caught up.
        if (!(error instanceof ProjectionApplyError)) throw error;
        failed(error);
        return;
      } finally {
        starting = undefined;
      }
      schedule(pollIntervalMs);
    },
    catchUp: lookNow,
    ready: () => caughtUp,
    status,
    close,
    [Symbol.asyncDispose]: close,
  };
}
