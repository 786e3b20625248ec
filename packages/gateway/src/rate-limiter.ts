import { integerSetting, type Principal, type Settings } from "@plexus/core";
import {
  createMemoryRateLimitStore,
  type RateLimitDecision,
  type RateLimitQuota,
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
  /**
   * Named limits a route can select (`RouteDefinition.rateLimitPolicy`) on top of the general
   * one, e.g. `{ credentials: { limit: 10, burst: 5 } }` for routes that cost a password hash.
   * Each has its own key space and the same keys as the general limit (subject, else client IP),
   * whatever the tier. Names are lower-case letters, digits and `-`.
   */
  policies?: Readonly<Record<string, RateLimitPolicy>>;
  /** Where counts live. Default an in-memory store (per process). */
  store?: RateLimitStore;
}

/** A named limit: `limit` requests per `periodMs` (default the limiter's), at most `burst` at once. */
export interface RateLimitPolicy {
  readonly limit: number;
  readonly periodMs?: number;
  /** Default `limit`. */
  readonly burst?: number;
}

/** Who a request is counted against. */
export interface RateLimitIdentity {
  readonly principal?: Principal | undefined;
  readonly clientIp: string;
}

/** Per-principal, per-tier limits over a {@link RateLimitStore}. */
export interface RateLimiter {
  /**
   * Counts one request (or `cost`) against the identity's quota and decides: the general quota,
   * or the named `policy`'s when given. Synchronous when the store is (the in-memory one): no
   * promise on the gateway's hot path.
   *
   * @throws Error for a policy it does not have.
   */
  check(
    identity: RateLimitIdentity,
    cost?: number,
    policy?: string,
  ): RateLimitDecision | Promise<RateLimitDecision>;
  /** Whether it has the named policy: the gateway refuses a route naming one it lacks. */
  hasPolicy(policy: string): boolean;
  close(): Promise<void>;
}

/** Reads `PLEXUS_RATE_LIMIT`; anything but a positive integer is a start-up error naming it. */
export function rateLimitFromEnv(env: Settings = process.env): number | undefined {
  return integerSetting(env, "PLEXUS_RATE_LIMIT", 1);
}

/**
 * Creates the gateway's rate limiter. Authenticated requests are counted per subject with the
 * limit of their tier; others per client IP. Keys are prefixed so a subject can never collide
 * with an IP, nor a named policy's key with the general one's (`@name/` comes before either).
 */
export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const defaultLimit = options.defaultLimit ?? rateLimitFromEnv() ?? 600;
  const anonymousLimit = options.anonymousLimit ?? defaultLimit;
  const periodMs = options.periodMs ?? 60_000;
  const tiers = new Map(Object.entries(options.tiers ?? {}));
  const policies = new Map<string, RateLimitQuota>();
  for (const [name, policy] of Object.entries(options.policies ?? {})) {
    if (!/^[a-z0-9-]+$/.test(name)) {
      throw new Error(
        `rate limit policy name must be lower-case letters, digits and -, got ${name}`,
      );
    }
    const quota = {
      limit: policy.limit,
      periodMs: policy.periodMs ?? periodMs,
      burst: policy.burst ?? policy.limit,
    };
    requirePositiveInteger(`policy ${name} burst`, quota.burst);
    requirePositiveInteger(`policy ${name} periodMs`, quota.periodMs);
    policies.set(name, quota);
  }
  for (const [name, limit] of [
    ["defaultLimit", defaultLimit],
    ["anonymousLimit", anonymousLimit],
    ...tiers,
    ...[...policies].map(([name, quota]) => [`policy ${name}`, quota.limit] as const),
  ] as const) {
    requirePositiveInteger(name, limit);
  }
  const store = options.store ?? createMemoryRateLimitStore();

  return {
    check(identity, cost = 1, policy) {
      const principal = identity.principal;
      const key = principal ? `p:${principal.subject}` : `ip:${identity.clientIp}`;
      if (policy !== undefined) {
        const quota = policies.get(policy);
        if (quota === undefined) throw new Error(`no rate limit policy named ${policy}`);
        return store.consume(`@${policy}/${key}`, quota, cost);
      }
      const limit = principal ? (tiers.get(principal.tier ?? "") ?? defaultLimit) : anonymousLimit;
      return store.consume(key, { limit, periodMs }, cost);
    },
    hasPolicy: (policy) => policies.has(policy),
    async close() {
      await store.close?.();
    },
  };
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`rate limit ${name} must be a positive integer, got ${value}`);
  }
}
