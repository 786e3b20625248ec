export interface RetryBudgetOptions {
  /**
   * gRPC retry throttling's `maxTokens` (gRFC A6, "Throttling Retry Attempts and Hedged RPCs"):
   * the bucket starts full; retries and hedges are allowed only while it holds more than half.
   * Default 10, the value of A6's example: five failures in a row with no success in between
   * stop retries until successes refill it. `0` turns the token bucket off.
   */
  maxTokens?: number;
  /**
   * gRPC's `tokenRatio`: tokens a success puts back (a qualified failure takes 1). Default 0.1:
   * retries continue while fewer than about 1 in 11 attempts fail (ratio / (1 + ratio)), and
   * stop when the callee is really failing instead of multiplying its load. Kept to 3 decimal
   * places, as gRPC does, so the bucket's arithmetic is exact.
   */
  tokenRatio?: number;
  /**
   * Envoy's `retry_budget.budget_percent`: concurrent retries allowed, as a percentage of the
   * requests in flight to the callee. Default 20, Envoy's default. `Infinity` turns the
   * concurrency budget off.
   */
  budgetPercent?: number;
  /**
   * Envoy's `retry_budget.min_retry_concurrency`: the concurrent-retry limit never goes below
   * this, so a caller with little traffic can still retry. Default 3, Envoy's default.
   */
  minRetryConcurrency?: number;
}

/** Why a retry or hedge was refused. */
export type BudgetVerdict = "ok" | "throttled" | "concurrency";

/**
 * A retry budget for one callee, shared by every retry and hedging policy calling it. It combines
 * the two well-tried budgets: gRPC's token bucket (a rate: retries stop while the callee fails
 * more than `tokenRatio` allows) and Envoy's concurrent-retry budget (a share: retries in flight
 * never exceed `budgetPercent` of the requests in flight, with a floor of `minRetryConcurrency`).
 * Together they bound the extra load retries add to a failing callee, whatever the caller's
 * concurrency.
 */
export interface RetryBudget {
  /** Tokens left in the bucket (gRPC's `token_count`). */
  readonly tokens: number;
  /** Attempts in flight (first tries, retries and hedges): Envoy's active requests. */
  readonly activeRequests: number;
  /** Retries and hedges granted and not yet finished: Envoy's active retries. */
  readonly activeRetries: number;
  /** Whether a retry or hedge may start now (without taking it). */
  check(): BudgetVerdict;
  /**
   * Takes a retry from the budget when it allows one. A granted retry counts as active from
   * now — through its backoff — until {@link RetryBudget.releaseRetry}, as Envoy holds its
   * retry resource from the decision until the retried request ends: a burst of failures
   * cannot all be granted before any of their retries has started.
   */
  acquireRetry(): BudgetVerdict;
  /** A granted retry or hedge is over (its attempt ended, or it never started). */
  releaseRetry(): void;
  /** An attempt is sent. */
  attemptStarted(): void;
  /** An attempt ends (whatever its outcome). */
  attemptEnded(): void;
  /** An attempt succeeded: `+tokenRatio`. */
  recordSuccess(): void;
  /**
   * An attempt failed in a way that counts for throttling — A6: a retryable or non-fatal code,
   * or a pushback saying not to retry (never a caller's mistake such as INVALID_ARGUMENT): `-1`.
   */
  recordFailure(): void;
}

/**
 * Creates a {@link RetryBudget}.
 *
 * @example
 * const budget = createRetryBudget({ maxTokens: 10, tokenRatio: 0.1 });
 * const retry = createRetryPolicy({ budget });
 */
export function createRetryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const maxTokens = options.maxTokens ?? 10;
  const tokenRatio = options.tokenRatio ?? 0.1;
  const budgetPercent = options.budgetPercent ?? 20;
  const minRetryConcurrency = options.minRetryConcurrency ?? 3;
  if (!(maxTokens >= 0 && maxTokens <= 1000)) {
    throw new RangeError("createRetryBudget: 0 <= maxTokens <= 1000");
  }
  if (!(tokenRatio > 0)) throw new RangeError("createRetryBudget: tokenRatio must be > 0");
  if (!(budgetPercent >= 0) || !(minRetryConcurrency >= 0)) {
    throw new RangeError("createRetryBudget: budgetPercent and minRetryConcurrency must be >= 0");
  }
  // Thousandths of a token, as gRPC keeps them: 0.1 + 0.1 + 0.1 is exactly 0.3 here.
  const max = Math.round(maxTokens * 1000);
  const ratio = Math.round(tokenRatio * 1000);
  const threshold = max / 2;
  const throttling = max > 0;
  const concurrencyOff = budgetPercent === Infinity;
  let milliTokens = max;
  let active = 0;
  let activeRetries = 0;

  function check(): BudgetVerdict {
    if (throttling && milliTokens <= threshold) return "throttled";
    // Checked apart: Infinity × 0 active requests is NaN, which would refuse every retry.
    if (concurrencyOff) return "ok";
    // Envoy truncates the share to an integer: max<uint64_t>(percent / 100 * active, min).
    const limit = Math.max(minRetryConcurrency, Math.floor((budgetPercent / 100) * active));
    return activeRetries < limit ? "ok" : "concurrency";
  }

  return {
    get tokens() {
      return milliTokens / 1000;
    },
    get activeRequests() {
      return active;
    },
    get activeRetries() {
      return activeRetries;
    },
    check,
    acquireRetry() {
      const verdict = check();
      if (verdict === "ok") activeRetries++;
      return verdict;
    },
    releaseRetry() {
      activeRetries--;
    },
    attemptStarted() {
      active++;
    },
    attemptEnded() {
      active--;
    },
    recordSuccess() {
      if (milliTokens < max) milliTokens = Math.min(max, milliTokens + ratio);
    },
    recordFailure() {
      if (milliTokens > 0) milliTokens = Math.max(0, milliTokens - 1000);
    },
  };
}
