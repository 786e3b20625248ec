import {
  liveLeaseOwners,
  type Clock,
  type Db,
  type Logger,
  type Sql,
  type TimerHandle,
} from "@plexus/core";
import type { InRoot } from "./execution-env.ts";
import type { SagaRecord } from "./saga-record.ts";
import { sagaStore, type Alive } from "./saga-store.ts";

export interface SagaLeasesOptions {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  /** This orchestrator's lease owner id. */
  readonly owner: string;
  readonly leaseMs: number;
  readonly root: InRoot;
  /** Aborted when `close()` gives up on in-flight tries: no more writes at all. */
  readonly abandon: AbortSignal;
}

/**
 * The leases one orchestrator (`owner`) holds: taken per saga by a claim, renewed together every
 * third of `leaseMs` while their executions run, given up when an execution stops early or the
 * orchestrator closes. While open, `owner` counts as alive in this process (ADR 10).
 */
export class SagaLeases {
  readonly #options: SagaLeasesOptions;
  readonly #held = new Set<string>();
  // TimerHandle is `unknown`: undefined means "none".
  #heartbeat: TimerHandle;
  #renewing = true;

  constructor(options: SagaLeasesOptions) {
    this.#options = options;
    liveLeaseOwners.add(options.owner);
    this.#scheduleHeartbeat();
  }

  /** Holders whose leases count until they run out: all of them unless the db is exclusive. */
  alive(): Alive {
    const { db, owner } = this.#options;
    return db.exclusive ? liveLeaseOwners.besides(owner) : null;
  }

  /**
   * Claims an active saga nobody alive holds, and holds it; undefined when it is finished,
   * parked, gone or held. `afterCallersTx`: `start` wrote it in a caller's transaction, whose
   * advisory lock is free (and the row visible) only once that transaction ended, so the claim
   * waits for the lock in the same transaction.
   */
  async claim(id: string, afterCallersTx: boolean): Promise<SagaRecord | undefined> {
    const { db, clock, owner, leaseMs } = this.#options;
    const claim = (sql: Sql): Promise<SagaRecord | undefined> => {
      const now = clock.now();
      return sagaStore.claim(sql, id, owner, now, now + leaseMs, this.alive());
    };
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
   * an error) is released in the database too, so another executor may take it at once.
   */
  async release(id: string, stillActive: boolean): Promise<void> {
    const { db, logger, owner, abandon } = this.#options;
    if (this.#held.delete(id) && stillActive && !abandon.aborted) {
      await sagaStore.release(db, owner, id).catch((error: unknown) => {
        logger.warn({ err: error, sagaId: id }, "could not release saga lease");
      });
    }
  }

  /** Closing: the renewal already scheduled is the last one. */
  stopRenewing(): void {
    this.#renewing = false;
  }

  /** Closed: gives up every lease of `owner` (one statement), which no longer counts as alive. */
  async releaseAll(): Promise<void> {
    const { db, clock, logger, owner } = this.#options;
    if (this.#heartbeat !== undefined) clock.clearTimeout(this.#heartbeat);
    try {
      await sagaStore.release(db, owner);
    } catch (error) {
      logger.warn({ err: error }, "could not release saga leases at close");
    }
    liveLeaseOwners.delete(owner);
  }

  #scheduleHeartbeat(): void {
    const { clock, leaseMs, root } = this.#options;
    this.#heartbeat = clock.setTimeout(
      () => {
        void root(() => this.#renew());
      },
      Math.max(1, Math.floor(leaseMs / 3)),
    );
  }

  async #renew(): Promise<void> {
    const { db, clock, logger, owner, leaseMs, abandon } = this.#options;
    try {
      if (this.#held.size > 0 && !abandon.aborted) {
        await sagaStore.renewLeases(db, owner, [...this.#held], clock.now() + leaseMs);
      }
    } catch (error) {
      logger.warn({ err: error }, "could not renew saga leases");
    } finally {
      if (this.#renewing) this.#scheduleHeartbeat();
    }
  }
}
