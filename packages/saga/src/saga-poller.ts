import { CoalescedRun, type Clock, type Db, type Logger, type TimerHandle } from "@plexus/core";
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
  /** Scans asked for by wake-ups: one at a time, and at most one more for those meanwhile. */
  readonly #wakeScans = new CoalescedRun(() => this.#scanOnWake());

  constructor(options: SagaPollerOptions) {
    this.#options = options;
  }

  /** Schedules every claimable saga not running here (up to 1 000); resolves how many. */
  async scan(): Promise<number> {
    const { db, logger, leases, executor } = this.#options;
    const ids = await sagaStore.findClaimable(db, leases.terms(), scanBatch);
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

  #wake(): void {
    void this.#wakeScans.request();
  }

  #scanOnWake(): Promise<void> {
    const { logger, root, stopping } = this.#options;
    return root(async () => {
      if (stopping.aborted) return;
      try {
        await this.scan();
      } catch (error) {
        logger.warn({ err: error }, "saga scan on wake-up failed");
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
