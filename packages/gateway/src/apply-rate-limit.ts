import type { IncomingMessage } from "node:http";
import { Code, PlexusError, type Logger, type Principal } from "@plexus/core";
import type { Exchange } from "./exchange.ts";
import { isPromise } from "./is-promise.ts";
import type { RateLimitDecision } from "./rate-limit-store.ts";
import type { RateLimiter, RateLimitIdentity } from "./rate-limiter.ts";

export interface ApplyRateLimitOptions {
  /** `undefined` when limiting is off. */
  readonly rateLimiter: RateLimiter | undefined;
  /** Where a failing limiter is reported. */
  readonly logger: Logger;
  /** The address anonymous requests are counted against. */
  readonly clientIp: (req: IncomingMessage) => string;
}

type Decided = RateLimitDecision | Promise<RateLimitDecision>;

/**
 * Counts the request against the general limit, then — if that allows it — against the route's
 * named `policy` when it has one, and sets the RateLimit headers; throws a 429 `RATE_LIMITED`
 * over either limit. A refused request costs nothing more: a client over the general limit does
 * not also spend its quota of the named one. A promise only if the store is async.
 */
export function applyRateLimit(
  ex: Exchange,
  principal: Principal | undefined,
  options: ApplyRateLimitOptions,
  policy?: string,
): void | Promise<void> {
  const limiter = options.rateLimiter;
  if (limiter === undefined) return;
  const identity = { principal, clientIp: options.clientIp(ex.req) };
  let general: Decided;
  try {
    general = limiter.check(identity);
  } catch (error) {
    return rateLimiterFailed(options.logger, error);
  }
  if (!isPromise(general)) return afterGeneral(ex, general, limiter, identity, options, policy);
  return general.then(
    (g) => afterGeneral(ex, g, limiter, identity, options, policy),
    (error: unknown) => rateLimiterFailed(options.logger, error),
  );
}

function afterGeneral(
  ex: Exchange,
  general: RateLimitDecision,
  limiter: RateLimiter,
  identity: RateLimitIdentity,
  options: ApplyRateLimitOptions,
  policy: string | undefined,
): void | Promise<void> {
  if (policy === undefined || !general.allowed) return enforce(ex, general, undefined);
  let named: Decided;
  try {
    named = limiter.check(identity, 1, policy);
  } catch (error) {
    return rateLimiterFailed(options.logger, error);
  }
  if (!isPromise(named)) return enforce(ex, general, named);
  return named.then(
    (n) => enforce(ex, general, n),
    (error: unknown) => rateLimiterFailed(options.logger, error),
  );
}

function rateLimiterFailed(logger: Logger, error: unknown): void {
  // Fail open: a broken limiter store must not take the whole API down with it.
  logger.warn({ err: error }, "rate limiter failed; request allowed");
}

/**
 * When a route's named limit was counted beside the general one, `RateLimit-Policy` lists both
 * and the other headers describe the one that binds — what the client must pace itself by: the
 * named one when it refuses, else the one with fewer requests left (the named one on a tie).
 */
function enforce(
  ex: Exchange,
  general: RateLimitDecision,
  named: RateLimitDecision | undefined,
): void {
  const binding = named === undefined ? general : bindingOf(general, named);
  ex.headers["ratelimit-limit"] = binding.limit;
  ex.headers["ratelimit-remaining"] = binding.remaining;
  ex.headers["ratelimit-reset"] = Math.ceil(binding.resetMs / 1000);
  ex.headers["ratelimit-policy"] =
    named === undefined ? policyOf(general) : `${policyOf(general)}, ${policyOf(named)}`;
  if (!binding.allowed) {
    throw new PlexusError(Code.ResourceExhausted, "rate limit exceeded", {
      reason: "RATE_LIMITED",
      metadata: { retryAfterMs: String(binding.retryAfterMs) },
    });
  }
}

/** `general` allowed the request (else `named` was never counted). */
function bindingOf(general: RateLimitDecision, named: RateLimitDecision): RateLimitDecision {
  return named.allowed && general.remaining < named.remaining ? general : named;
}

/** `limit;w=seconds`, with `;burst=n` when the burst is not the limit. */
function policyOf(decision: RateLimitDecision): string {
  const policy = `${decision.limit};w=${Math.round(decision.periodMs / 1000)}`;
  return decision.burst === decision.limit ? policy : `${policy};burst=${decision.burst}`;
}
