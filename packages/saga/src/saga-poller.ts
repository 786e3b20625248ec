import type { Clock, Db, Logger, TimerHandle } from "@plexus/core";
import type { InRoot } from "./execution-env.ts";
import type { SagaExecutor } from "./saga-executor.ts";
import type { SagaLeases } from "./saga-leases.ts";
import { sagaChannel, sagaStore } from "./saga-store.ts";

const scanBatch = 1_000;

export interface SagaPollerOptions {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  /** 0 disables polling (`scan` still works). */
  readonly intervalMs: number;
  readonly root: InRoot;
  /** Aborted by `close()`: no more polls. */
  readonly stopping: AbortSignal;
  readonly leases: SagaLeases;
  readonly executor: SagaExecutor;
}

/**
 * Finds active sagas nobody alive holds (a dead process's, or ones another executor released or
 * had no slot for) and has them executed: once at `resumeAll()`, then whenever a commit wakes it
 * (`sagaChannel`, from any process on the database), and every `intervalMs` as the safety net.
 * The scan is only a hint; the claim decides who runs a saga.
 */
export class SagaPoller {
  readonly #options: SagaPollerOptions;
  // TimerHandle is `unknown`: undefined means "none".
  #timer: TimerHandle;
  #started = false;
  #unlisten: (() => void) | undefined;
  /** A scan asked for by a wake-up runs; `#again`: one more was asked for meanwhile. */
  #waking = false;
  #again = false;

  constructor(options: SagaPollerOptions) {
    this.#options = options;
  }

  /** Schedules every claimable saga not running here (up to 1 000); resolves how many. */
  async scan(): Promise<number> {
    const { db, clock, logger, leases, executor } = this.#options;
    const ids = await sagaStore.findClaimable(db, clock.now(), scanBatch, leases.alive());
    let scheduled = 0;
    for (const id of ids) {
      if (executor.isRunning(id)) continue;
      executor.execute(id);
      scheduled++;
    }
    if (scheduled > 0) logger.info({ scheduled }, "resuming sagas");
    return scheduled;
  }

  /**
   * Listens for wake-ups and starts polling (once; later calls change nothing). Resolves once
   * listening, so the scan that follows misses nothing committed after it.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { db, stopping } = this.#options;
    let unlisten: () => void;
    try {
      unlisten = await db.listen(sagaChannel, () => this.#wake());
    } catch (error) {
      this.#started = false; // the next `resumeAll` tries again
      throw error;
    }
    if (stopping.aborted) unlisten();
    else this.#unlisten = unlisten;
    this.#schedule();
  }

  stop(): void {
    this.#unlisten?.();
    this.#unlisten = undefined;
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
  }

  /** Coalesced: one scan at a time, and at most one more after it for the wake-ups meanwhile. */
  #wake(): void {
    if (this.#waking) {
      this.#again = true;
      return;
    }
    this.#waking = true;
    const { logger, root, stopping } = this.#options;
    void root(async () => {
      try {
        do {
          this.#again = false;
          if (stopping.aborted) return;
          await this.scan();
        } while (this.#again);
      } catch (error) {
        logger.warn({ err: error }, "saga scan on wake-up failed");
      } finally {
        this.#waking = false;
      }
    });
  }

  #schedule(): void {
    const { clock, logger, intervalMs, root, stopping } = this.#options;
    if (intervalMs === 0 || stopping.aborted) return;
    this.#timer = clock.setTimeout(() => {
      void root(async () => {
        try {
          await this.scan();
        } catch (error) {
          logger.warn({ err: error }, "saga poll failed");
        } finally {
          this.#schedule();
        }
      });
    }, intervalMs);
  }
}
