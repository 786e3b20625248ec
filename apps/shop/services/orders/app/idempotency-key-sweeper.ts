import type { Clock, Logger, Sql, TimerHandle } from "@plexus/core";
import type { OrderRepositoryFactory } from "./order-repository.ts";

export interface IdempotencyKeySweeperOptions {
  readonly db: Sql;
  readonly orders: OrderRepositoryFactory;
  /** Decides what has expired, and times the sweeps (the system clock's timers are unref'd). */
  readonly clock: Clock;
  readonly logger: Logger;
  /** A key expires this long after its first use. */
  readonly ttlMs: number;
  /** Between the end of one sweep and the start of the next; 0 = never sweep on a timer. */
  readonly intervalMs: number;
  /** Rows per DELETE. Default 500: short statements, no long lock on a busy table. */
  readonly batchSize?: number;
  /** DELETEs per sweep. Default 20: a large backlog is worked off over several sweeps. */
  readonly maxBatches?: number;
}

/** Deletes expired Idempotency-Key records in the background. */
export interface IdempotencyKeySweeper {
  /** Sweeps now; resolves how many records went. */
  sweep(): Promise<number>;
  /** Sweeps every `intervalMs` from now on (the first after one interval). */
  start(): void;
  /** Stops the timer and waits for a sweep under way. */
  close(): Promise<void>;
}

/**
 * Keeps `order_idempotency_keys` from growing forever. Expiry does not depend on it (PlaceOrder
 * reads an expired key as absent); it only reclaims the rows, in bounded batches, with the same
 * self-rescheduling timer as the saga orchestrator's poll: one sweep at a time, never overlapping.
 *
 * @example
 * const sweeper = createIdempotencyKeySweeper({ db, orders, clock, logger, ttlMs, intervalMs });
 * sweeper.start();
 * await sweeper.close();
 */
export function createIdempotencyKeySweeper(
  options: IdempotencyKeySweeperOptions,
): IdempotencyKeySweeper {
  const { db, clock, logger, ttlMs, intervalMs } = options;
  const batchSize = options.batchSize ?? 500;
  const maxBatches = options.maxBatches ?? 20;
  let timer: TimerHandle;
  let running: Promise<unknown> = Promise.resolve();
  let closed = false;

  async function sweep(): Promise<number> {
    const orders = options.orders(db);
    const expiredBy = new Date(clock.now() - ttlMs).toISOString();
    let total = 0;
    for (let batch = 0; batch < maxBatches && !closed; batch++) {
      const deleted = await orders.sweepIdempotencyKeys(expiredBy, batchSize);
      total += deleted;
      if (deleted < batchSize) break;
    }
    if (total > 0) logger.info({ deleted: total }, "swept expired idempotency keys");
    return total;
  }

  function schedule(): void {
    if (closed || intervalMs === 0) return;
    timer = clock.setTimeout(() => {
      timer = undefined;
      running = sweep()
        .catch((error: unknown) => logger.warn({ err: error }, "idempotency key sweep failed"))
        .finally(schedule);
    }, intervalMs);
  }

  return {
    sweep,
    start() {
      if (timer === undefined && !closed) schedule();
    },
    async close() {
      closed = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
