import type { IncomingMessage } from "node:http";
import { Code, PlexusError, type Logger, type Principal } from "@plexus/core";
import type { Exchange } from "./exchange.ts";
import { isPromise } from "./is-promise.ts";
import type { RateLimitDecision } from "./rate-limit-store.ts";
import type { RateLimiter } from "./rate-limiter.ts";

export interface ApplyRateLimitOptions {
  /** `undefined` when limiting is off. */
  readonly rateLimiter: RateLimiter | undefined;
  /** Where a failing limiter is reported. */
  readonly logger: Logger;
  /** The address anonymous requests are counted against. */
  readonly clientIp: (req: IncomingMessage) => string;
}

/**
 * Counts the request and sets the RateLimit headers; throws a 429 `RATE_LIMITED` over the limit.
 * A promise only if the store is async.
 */
export function applyRateLimit(
  ex: Exchange,
  principal: Principal | undefined,
  options: ApplyRateLimitOptions,
): void | Promise<void> {
  const limiter = options.rateLimiter;
  if (limiter === undefined) return;
  let decision: RateLimitDecision | Promise<RateLimitDecision>;
  try {
    decision = limiter.check({ principal, clientIp: options.clientIp(ex.req) });
  } catch (error) {
    return rateLimiterFailed(options.logger, error);
  }
  if (!isPromise(decision)) return enforce(ex, decision, limiter.periodMs);
  return Promise.resolve(decision).then(
    (d) => enforce(ex, d, limiter.periodMs),
    (error: unknown) => rateLimiterFailed(options.logger, error),
  );
}

function rateLimiterFailed(logger: Logger, error: unknown): void {
  // Fail open: a broken limiter store must not take the whole API down with it.
  logger.warn({ err: error }, "rate limiter failed; request allowed");
}

function enforce(ex: Exchange, decision: RateLimitDecision, periodMs: number): void {
  ex.headers["ratelimit-limit"] = decision.limit;
  ex.headers["ratelimit-remaining"] = decision.remaining;
  ex.headers["ratelimit-reset"] = Math.ceil(decision.resetMs / 1000);
  ex.headers["ratelimit-policy"] = `${decision.limit};w=${Math.round(periodMs / 1000)}`;
  if (!decision.allowed) {
    throw new PlexusError(Code.ResourceExhausted, "rate limit exceeded", {
      reason: "RATE_LIMITED",
      metadata: { retryAfterMs: String(decision.retryAfterMs) },
    });
  }
}
