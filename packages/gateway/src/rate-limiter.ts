import { integerSetting, type Principal, type Settings } from "@plexus/core";
import {
  createMemoryRateLimitStore,
  type RateLimitDecision,
  type RateLimitStore,
} from "./rate-limit-store.ts";

export interface RateLimiterOptions {
  /**
   * Requests per period for the default tier (`free`, principals without a known tier, and
   * anonymous clients unless `anonymousLimit` says otherwise). Default: `PLEXUS_RATE_LIMIT`,
   * else 600 (API.md).
   */
  defaultLimit?: number;
  /**
   * Requests per period by plan tier, e.g. `{ pro: 6000 }`. A principal's tier comes from its
   * token (`tier` claim). Unlisted tiers get `defaultLimit`.
   */
  tiers?: Readonly<Record<string, number>>;
  /** Requests per period per client IP for unauthenticated requests. Default `defaultLimit`. */
  anonymousLimit?: number;
  /** The period the limits are counted over. Default 60 000 ms ("requests per minute"). */
  periodMs?: number;
  /** Where counts live. Default an in-memory store (per process). */
  store?: RateLimitStore;
}

/** Who a request is counted against. */
export interface RateLimitIdentity {
  readonly principal?: Principal | undefined;
  readonly clientIp: string;
}

/** Per-principal, per-tier limits over a {@link RateLimitStore}. */
export interface RateLimiter {
  /**
   * Counts one request (or `cost`) against the identity's quota and decides. Synchronous when the
   * store is (the in-memory one): no promise on the gateway's hot path.
   */
  check(identity: RateLimitIdentity, cost?: number): RateLimitDecision | Promise<RateLimitDecision>;
  /** The period limits are counted over (for a `RateLimit-Policy` header). */
  readonly periodMs: number;
  close(): Promise<void>;
}

/** Reads `PLEXUS_RATE_LIMIT`; anything but a positive integer is a start-up error naming it. */
export function rateLimitFromEnv(env: Settings = process.env): number | undefined {
  return integerSetting(env, "PLEXUS_RATE_LIMIT", 1);
}

/**
 * Creates the gateway's rate limiter. Authenticated requests are counted per subject with the
 * limit of their tier; others per client IP. Keys are prefixed so a subject can never collide
 * with an IP.
 */
export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const defaultLimit = options.defaultLimit ?? rateLimitFromEnv() ?? 600;
  const anonymousLimit = options.anonymousLimit ?? defaultLimit;
  const periodMs = options.periodMs ?? 60_000;
  const tiers = new Map(Object.entries(options.tiers ?? {}));
  for (const [name, limit] of [
    ["defaultLimit", defaultLimit],
    ["anonymousLimit", anonymousLimit],
    ...tiers,
  ] as const) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new Error(`rate limit ${name} must be a positive integer, got ${limit}`);
    }
  }
  const store = options.store ?? createMemoryRateLimitStore();

  return {
    periodMs,
    check(identity, cost = 1) {
      const principal = identity.principal;
      const key = principal ? `p:${principal.subject}` : `ip:${identity.clientIp}`;
      const limit = principal ? (tiers.get(principal.tier ?? "") ?? defaultLimit) : anonymousLimit;
      return store.consume(key, { limit, periodMs }, cost);
    },
    async close() {
      await store.close?.();
    },
  };
}
