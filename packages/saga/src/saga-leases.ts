import {
  LeaseHolder,
  type Clock,
  type Db,
  type LeaseTerms,
  type Logger,
  type Sql,
} from "@plexus/core";
import type { InRoot } from "./execution-env.ts";
import type { SagaRecord } from "./saga-record.ts";
import { sagaChannel, sagaStore } from "./saga-store.ts";

export interface SagaLeasesOptions {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  /** This orchestrator's lease owner id (default: `LeaseHolder`'s). */
  readonly owner: string | undefined;
  readonly leaseMs: number;
  readonly root: InRoot;
  /** Aborted when `close()` gives up on in-flight tries: no more writes at all. */
  readonly abandon: AbortSignal;
}

/**
 * The leases one orchestrator (`owner`) holds, one per saga row: core's `LeaseHolder` (ADR 10)
 * over the saga rows. Taken per saga by a claim, renewed together by the holder's heartbeat while
 * their executions run, given up when an execution stops early or the orchestrator closes. While
 * open, `owner` counts as alive in this process.
 */
export class SagaLeases {
  readonly #options: SagaLeasesOptions;
  readonly #held = new Set<string>();
  readonly #holder: LeaseHolder;

  constructor(options: SagaLeasesOptions) {
    this.#options = options;
    const { db, clock, logger, owner, leaseMs, root, abandon } = options;
    this.#holder = new LeaseHolder({
      db,
      clock,
      logger,
      owner,
      ttlMs: leaseMs,
      leased: {
        renew: async (holder) => {
          if (this.#held.size === 0 || abandon.aborted) return;
          const { owner: me, until } = holder.terms();
          await sagaStore.renewLeases(db, me, [...this.#held], until);
        },
        release: async (holder) => this.#released(await sagaStore.release(db, holder.owner)),
      },
    });
    // The heartbeat runs in the orchestrator's context, never in a caller's.
    root(() => this.#holder.open());
  }

  /** This orchestrator's lease owner id. */
  get owner(): string {
    return this.#holder.owner;
  }

  /** When a lease taken or extended at `now` runs out. */
  until(now: number): number {
    return this.#holder.until(now);
  }

  /** The terms of a lease taken now (which holders are alive, when it runs out). */
  terms(): LeaseTerms {
    return this.#holder.terms();
  }

  /**
   * Claims an active saga nobody alive holds, and holds it; undefined when it is finished,
   * parked, gone or held. `afterCallersTx`: `start` wrote it in a caller's transaction, whose
   * advisory lock is free (and the row visible) only once that transaction ended, so the claim
   * waits for the lock in the same transaction.
   */
  async claim(id: string, afterCallersTx: boolean): Promise<SagaRecord | undefined> {
    const { db } = this.#options;
    const claim = (sql: Sql) => sagaStore.claim(sql, id, this.#holder.terms());
    const record = afterCallersTx
      ? await db.transaction(async (tx) => {
          await sagaStore.lock(tx, id);
          return claim(tx);
        })
      : await claim(db);
    if (record) this.#held.add(id);
    return record;
  }

  /**
   * Ends the hold on `id` once its execution stopped. A saga stopped while still active (closing,
   * an error) is released in the database too, and the executors woken, so another may take it
   * at once.
   */
  async release(id: string, stillActive: boolean): Promise<void> {
    const { db, logger, abandon } = this.#options;
    if (this.#held.delete(id) && stillActive && !abandon.aborted) {
      try {
        this.#released(await sagaStore.release(db, this.owner, id));
      } catch (error) {
        logger.warn({ err: error, sagaId: id }, "could not release saga lease");
      }
    }
  }

  /** Closing: the renewal already scheduled is the last one. */
  stopRenewing(): void {
    this.#holder.stopRenewing();
  }

  /** Closed: gives up every lease of `owner` (one statement), which no longer counts as alive. */
  releaseAll(): Promise<void> {
    return this.#holder.close();
  }

  /** Sagas given up while active wait for another executor: wakes them (one statement on Postgres). */
  #released(count: number): void {
    if (count > 0) this.#options.db.notify(sagaChannel);
  }
}
