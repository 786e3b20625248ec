import { systemClock, type Clock } from "@plexus/core";

/** `limit` requests per `periodMs`, refilled continuously. */
export interface RateLimitQuota {
  readonly limit: number;
  readonly periodMs: number;
  /**
   * Most requests a rested key may make at once. Default `limit`. A smaller burst keeps the
   * long-run rate but spreads it out: an expensive route (a password hash) is never hit by the
   * whole minute's quota in one instant.
   */
  readonly burst?: number;
}

/** The outcome of one request against a key's quota, with what the RateLimit headers need. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  readonly limit: number;
  /** The quota's period and burst, for the `RateLimit-Policy` header. */
  readonly periodMs: number;
  readonly burst: number;
  /** Requests that could still be made right now. */
  readonly remaining: number;
  /** Until the quota is fully replenished (the `RateLimit-Reset` header, rounded up to seconds). */
  readonly resetMs: number;
  /** Until this request would be allowed (`Retry-After`); 0 when allowed. */
  readonly retryAfterMs: number;
}

/**
 * Where rate-limit state lives. The memory store serves one gateway process; a shared store
 * (Redis) lets replicas enforce one limit together. A store implements the whole decision
 * atomically (for Redis: one Lua script running {@link gcra} against the server's time), because
 * read-then-write from the gateway would race between replicas.
 */
export interface RateLimitStore {
  /** Counts `cost` requests against `key` and decides. */
  consume(
    key: string,
    quota: RateLimitQuota,
    cost: number,
  ): RateLimitDecision | Promise<RateLimitDecision>;
  close?(): Promise<void>;
}

/**
 * GCRA (generic cell rate algorithm), the decision every store makes. State is one number per
 * key, the theoretical arrival time (TAT): when the key's bucket would be empty again.
 *
 * Why GCRA rather than a fixed window or a sliding-window counter: it is exact (a fixed window
 * lets a client send 2× the limit across a window boundary; a sliding-window counter
 * approximates), it spreads the refill evenly instead of resetting all at once (no thundering herd
 * at the top of each minute), it keeps a single number per key (half the memory of a sliding
 * window's two counters) and it maps onto one atomic Redis script. A fresh key may burst up to
 * `burst` (default `limit`) requests at once, then gets one more every `periodMs / limit`.
 */
export function gcra(
  tat: number | undefined,
  now: number,
  quota: RateLimitQuota,
  cost: number,
): { decision: RateLimitDecision; tat: number | undefined } {
  const interval = quota.periodMs / quota.limit;
  const burst = quota.burst ?? quota.limit;
  // GCRA's tolerance: how far ahead of now the TAT may run.
  const tolerance = burst * interval;
  const base = tat === undefined || tat < now ? now : tat;
  const newTat = base + cost * interval;
  const allowAt = newTat - tolerance;
  const { limit, periodMs } = quota;
  if (allowAt > now) {
    return {
      decision: {
        allowed: false,
        limit,
        periodMs,
        burst,
        remaining: 0,
        resetMs: base - now,
        retryAfterMs: allowAt - now,
      },
      tat,
    };
  }
  // The epsilon absorbs floating-point error when periodMs / limit is not exact.
  const remaining = Math.floor((tolerance - (newTat - now)) / interval + 1e-9);
  return {
    decision: {
      allowed: true,
      limit,
      periodMs,
      burst,
      remaining: Math.max(0, remaining),
      resetMs: newTat - now,
      retryAfterMs: 0,
    },
    tat: newTat,
  };
}

export interface MemoryRateLimitStoreOptions {
  /** Time source. Default the system clock; tests pass a fake one. */
  clock?: Clock;
  /**
   * Most keys held. Default 100 000 (a few MiB). Past it the least recently used key is dropped,
   * which only ever forgives a client (it restarts with a full quota): memory stays bounded even
   * under a flood of spoofed or distinct clients.
   */
  maxKeys?: number;
}

/** The in-memory store: synchronous, and it tells how many keys it holds. */
export interface MemoryRateLimitStore extends RateLimitStore {
  consume(key: string, quota: RateLimitQuota, cost: number): RateLimitDecision;
  readonly size: number;
}

/**
 * An in-process {@link RateLimitStore}. Keys whose TAT has passed hold no information (a fresh
 * key behaves the same), so each call also drops up to two expired least-recently-used keys:
 * memory follows the number of active clients without any timer.
 */
export function createMemoryRateLimitStore(
  options: MemoryRateLimitStoreOptions = {},
): MemoryRateLimitStore {
  const clock = options.clock ?? systemClock;
  const maxKeys = options.maxKeys ?? 100_000;
  // Map iteration order is insertion order; re-inserting on every use makes it LRU order.
  const tats = new Map<string, number>();

  function sweep(now: number): void {
    let checked = 0;
    for (const [key, tat] of tats) {
      if (checked++ >= 2) break;
      if (tat <= now) tats.delete(key);
      else break;
    }
  }

  return {
    get size() {
      return tats.size;
    },
    consume(key, quota, cost) {
      const now = clock.now();
      sweep(now);
      const { decision, tat } = gcra(tats.get(key), now, quota, cost);
      if (tat !== undefined) {
        tats.delete(key);
        tats.set(key, tat);
        if (tats.size > maxKeys) {
          const oldest = tats.keys().next();
          if (!oldest.done) tats.delete(oldest.value);
        }
      }
      return decision;
    },
    async close() {
      tats.clear();
    },
  };
}
