import type { Db } from "@plexus/core";

/**
 * Wakes `flush()` callers at each step of relay progress (a subject's batch done, a cycle done,
 * the relay stopping), so they re-check instead of polling.
 */
export class RelayProgress {
  readonly #waiters = new Set<() => void>();

  /** Called at each step of progress. */
  progressed(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /** Resolves at the next progress (rejects when the signal aborts); `cancel` stops waiting. */
  next(signal: AbortSignal | undefined): { wait: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const wait = new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters.delete(wake);
        reject(signal?.reason as Error);
      };
      wake = () => {
        this.#waiters.delete(wake);
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    this.#waiters.add(wake);
    return { wait, cancel: wake };
  }
}

/** What `flushRelay` needs of the relay. */
export interface FlushTarget {
  readonly db: Db;
  readonly progress: RelayProgress;
  /** Asks the relay for a cycle. */
  readonly kick: () => void;
  /** Whether the relay is started and not stopped. */
  readonly running: () => boolean;
}

/** Resolves once every row unsent when called has been published (or the signal aborts). */
export async function flushRelay(target: FlushTarget, signal?: AbortSignal): Promise<void> {
  const { db, progress } = target;
  const { rows } = await db.query<{ max: number | bigint | null }>(
    "SELECT max(position) AS max FROM plexus_outbox WHERE sent_at IS NULL",
  );
  const limit = rows[0]?.max;
  if (limit === null || limit === undefined) return;
  // One nudge, then wait for real progress between checks. Re-nudging on every check would be
  // a loop of queries that, on PGlite (which answers in microtasks), never yields to timers/IO.
  target.kick();
  for (;;) {
    signal?.throwIfAborted();
    // Registered before the check, so progress made during the check is not missed.
    const next = progress.next(signal);
    try {
      if ((await unsentUpTo(db, limit)) === 0) return;
      if (!target.running()) throw new Error("outbox relay is not running");
      await next.wait;
    } finally {
      next.cancel();
    }
  }
}

async function unsentUpTo(db: Db, limit: number | bigint): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::integer AS n FROM plexus_outbox WHERE sent_at IS NULL AND position <= $1",
    [limit],
  );
  return rows[0]?.n ?? 0;
}
