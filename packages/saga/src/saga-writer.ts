import type { Db, Sql } from "@plexus/core";
import type { ExecutionEnv } from "./execution-env.ts";
import type { SagaFinishedEvent } from "./saga-definition.ts";
import { toView, type SagaRecord } from "./saga-record.ts";
import { SagaStatus } from "./saga-status.ts";
import { sagaStore } from "./saga-store.ts";
import { sagaTimeline } from "./saga-timeline.ts";

/**
 * Thrown inside an execution to unwind it quietly: the orchestrator abandoned it (no more
 * writes), or it is closing in the middle of a finish retry (the last write is the resume point).
 */
export class StopExecution extends Error {
  override readonly name = "StopExecution";
}

/** A finish hook (the definition's or the orchestrator's), bound to its holder. */
export type FinishHook = (event: SagaFinishedEvent) => Promise<void>;

/** What one commit writes besides the saga's new state, in the same transaction. */
export interface CommitWrites {
  /** Statements before the saga's write (the outcome of the try that led to it). */
  readonly before?: (tx: Sql) => Promise<void>;
  /** Run after the saga's write, given its view (the finish hooks). */
  readonly hooks?: readonly FinishHook[];
  /** The patch is a final or parked state: `finishedAt` is set, unless parked. */
  readonly final?: boolean;
  /** Statements after the saga's write (the start of the next try). */
  readonly after?: (tx: Sql) => Promise<void>;
}

/**
 * The writes of one execution on its saga's row. Every write is guarded by the version and lease
 * the execution holds (a taken-over saga's next write fails with a conflict), and is applied to
 * the in-memory `record` only once it committed. Nothing is written once the execution is
 * abandoned.
 */
export class SagaWriter {
  /** The saga as last committed. */
  readonly record: SagaRecord;
  readonly #env: ExecutionEnv;

  constructor(env: ExecutionEnv, record: SagaRecord) {
    this.#env = env;
    this.record = record;
  }

  now(): number {
    return this.#env.clock.now();
  }

  /** A statement outside a transaction, refused once the execution is abandoned. */
  sql<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (this.#env.abandon.aborted) throw new StopExecution();
    return fn(this.#env.db);
  }

  /**
   * Runs `statements` in one transaction with the guard (version checked and bumped, lease
   * extended from `now`), for writes that leave the saga's state as it is (a try's start or
   * retry).
   */
  async guarded(now: number, statements: (tx: Sql) => Promise<void>): Promise<void> {
    const rec = this.record;
    const leaseUntil = this.#env.lease.until(now);
    rec.version = await this.#transaction(async (tx) => {
      const version = await sagaStore.guard(tx, rec, now, leaseUntil);
      await statements(tx);
      return version;
    });
    rec.leaseUntil = leaseUntil;
    rec.updatedAt = new Date(now);
  }

  /** Applies `patch` to the saga in one guarded transaction, with `writes`. */
  async commit(patch: Partial<SagaRecord>, writes: CommitWrites = {}): Promise<void> {
    const { before, hooks = [], final = false, after } = writes;
    const rec = this.record;
    const now = this.now();
    const next: SagaRecord = {
      ...rec,
      leaseUntil: this.#env.lease.until(now),
      ...patch,
      updatedAt: new Date(now),
      finishedAt: final && patch.status !== SagaStatus.NeedsAttention ? new Date(now) : null,
    };
    const version = await this.#transaction(async (tx) => {
      await before?.(tx);
      const written = await sagaStore.write(tx, rec, next);
      if (hooks.length > 0) {
        const saga = toView({ ...next, version: written }, await sagaTimeline.attempts(tx, rec.id));
        const event: SagaFinishedEvent = {
          saga,
          input: next.input,
          outputs: saga.outputs,
          failure: next.status === SagaStatus.Completed ? undefined : (next.failure ?? undefined),
          tx,
        };
        for (const hook of hooks) await hook(event);
      }
      await after?.(tx);
      return written;
    });
    Object.assign(rec, next, { version });
  }

  /** A transaction, refused once the execution is abandoned. */
  #transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    if (this.#env.abandon.aborted) throw new StopExecution();
    return this.#env.db.transaction(fn);
  }
}
