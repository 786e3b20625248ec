import type { Clock, Db, Logger, TimerHandle } from "@plexus/core";
import type { InRoot } from "./execution-env.ts";
import type { SagaExecutor } from "./saga-executor.ts";
import type { SagaLeases } from "./saga-leases.ts";
import { sagaStore } from "./saga-store.ts";

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
 * Finds active sagas nobody alive holds (a dead process's, or ones started in a transaction that
 * committed after the last scan) and has them executed: once at `resumeAll()`, then every
 * `intervalMs`. The scan is only a hint; the claim decides who runs a saga.
 */
export class SagaPoller {
  readonly #options: SagaPollerOptions;
  // TimerHandle is `unknown`: undefined means "none".
  #timer: TimerHandle;
  #polling = false;

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

  /** Starts polling (once; later calls change nothing). */
  start(): void {
    if (this.#polling) return;
    this.#polling = true;
    this.#schedule();
  }

  stop(): void {
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
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
