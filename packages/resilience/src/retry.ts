import { isRetryableCode, PlexusError, sleep, systemClock, type Clock } from "@plexus/core";
import { exponentialBackoff, type Backoff } from "./backoff.ts";
import { abortError, rejectionKindOf, retryAfterMsOf } from "./errors.ts";
import type { Attempt, AttemptHandler, Policy } from "./policy.ts";
import type { BudgetVerdict, RetryBudget } from "./retry-budget.ts";
import { createRetrySchedule, type RetryDecision } from "./retry-schedule.ts";

/** One retry about to happen, for metrics and span events. */
export interface RetryEvent {
  /** The attempt about to start (2 for the first retry). */
  readonly attempt: number;
  /** How long the policy waits before it. */
  readonly delayMs: number;
  /** `pushback` when the delay is the server's (`retryAfterMs`), else `backoff`. */
  readonly delaySource: "backoff" | "pushback";
  /** The failure being retried; `undefined` when a result was retried. */
  readonly error: unknown;
}

/** Why a retry policy stopped retrying a retryable failure. */
export type GiveUpReason =
  Extract<RetryDecision, { retry: false }>["reason"] | "deadline" | Exclude<BudgetVerdict, "ok">;

export interface GiveUpEvent {
  readonly reason: GiveUpReason;
  /** Attempts made. */
  readonly attempts: number;
  readonly error: unknown;
}

export interface RetryOptions {
  /**
   * Attempts in all, counting the first (gRPC's `maxAttempts`). Default 3: two retries ride out
   * a blip; more mostly add load to a callee that is down (the budget bounds it either way).
   * A backoff's own cap applies over it (`exponentialBackoff({ jitter: "grpc" })`: 5, as A6).
   */
  maxAttempts?: number;
  /**
   * Delay before each retry. Default `exponentialBackoff()`: full jitter, 100 ms .. 10 s;
   * `exponentialBackoff({ jitter: "grpc" })` for gRFC A6's revised `ceiling * random(0.8, 1.2)`.
   */
  backoff?: Backoff;
  /**
   * Whether a failure may be retried. Default {@link isRetryableError}: the retryable codes of
   * core's `isRetryableCode` (UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED of one try),
   * never a caller's mistake (4xx-class codes), never this process's own policy rejections.
   */
  shouldRetry?: (error: unknown) => boolean;
  /** Whether a successful result should be retried (a `503` response, an empty read). Default: never. */
  retryOnResult?: (result: unknown) => boolean;
  /** The pushback a retried result carries (its `Retry-After`, in ms; negative: do not retry). */
  retryAfterOfResult?: (result: unknown) => number | undefined;
  /**
   * The callee's retry budget, shared with its other policies. Default: none (only
   * `maxAttempts` bounds retries — fine for one caller, dangerous for a fleet).
   */
  budget?: RetryBudget;
  /**
   * Longest pushback honoured, in ms: a server asking for a longer wait gets the failure
   * returned at once rather than a caller stuck waiting. Default 30 000.
   */
  maxRetryAfterMs?: number;
  /** Time source for backoff sleeps and deadline checks. Default `systemClock`. */
  clock?: Clock;
  /** Random source in [0, 1) for jitter. Default `Math.random`; tests inject a fixed one. */
  random?: () => number;
  /** Called before every retry (metrics, span events). */
  onRetry?: (event: RetryEvent) => void;
  /** Called when a retryable failure is returned without retrying (budget, deadline, attempts). */
  onGiveUp?: (event: GiveUpEvent) => void;
}

/**
 * The default retry predicate: a PlexusError whose code is retryable (core's `isRetryableCode`,
 * the one place that decides), that this process's own policies did not raise.
 */
export function isRetryableError(error: unknown): boolean {
  return (
    error instanceof PlexusError &&
    isRetryableCode(error.code) &&
    rejectionKindOf(error) === undefined
  );
}

/**
 * Retry with backoff and jitter, per gRFC A6 ("gRPC Retry Design"): `maxAttempts` counts the
 * first attempt; only retryable failures are retried; a server pushback (`retryAfterMs` in the
 * error's metadata, from `grpc-retry-pushback-ms` or `Retry-After`) replaces the backoff for the
 * next retry and resets it to its initial value for the ones after, and a negative or
 * unparseable pushback stops retrying (the decision is {@link createRetrySchedule}'s, the one
 * saga steps and message redelivery use too); the caller's deadline applies across all attempts and no
 * attempt starts after it (a backoff that would end past it returns the failure at once);
 * retries are throttled by the callee's {@link RetryBudget}. When retries run out the last
 * failure (or the last result) is returned as is.
 *
 * Non-idempotent operations must not be given a retry policy unless they carry an idempotency
 * key; the RPC interceptors apply that rule per call.
 *
 * @example
 * const retry = createRetryPolicy({ maxAttempts: 3, budget: createRetryBudget() });
 * const user = await execute(retry, (signal) => users.getUser({ id }, { signal }));
 */
export function createRetryPolicy(options: RetryOptions = {}): Policy {
  const maxAttempts = options.maxAttempts ?? 3;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) {
    throw new RangeError("createRetryPolicy: maxAttempts must be an integer >= 1");
  }
  const backoff = options.backoff ?? exponentialBackoff();
  const shouldRetry = options.shouldRetry ?? isRetryableError;
  const { retryOnResult, retryAfterOfResult, budget, onRetry, onGiveUp } = options;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;

  function giveUp(reason: GiveUpReason, attempts: number, error: unknown): void {
    onGiveUp?.({ reason, attempts, error });
  }

  /**
   * The attempt loop. `firstFailed` says the first attempt already ran (on the fast path) and
   * failed with `firstError`; the loop then starts by deciding about its retry.
   */
  async function loop(
    next: AttemptHandler,
    context: Attempt,
    firstFailed: boolean,
    firstError: unknown,
  ): Promise<unknown> {
    const { signal } = context;
    let attempt = 1;
    const schedule = createRetrySchedule({ maxAttempts, backoff, maxRetryAfterMs, random });
    let pending = firstFailed;
    for (;;) {
      const retrying = attempt > 1;
      let result: unknown;
      let error: unknown;
      let failed = false;
      if (pending) {
        pending = false;
        error = firstError;
        failed = true;
      } else {
        const attemptContext: Attempt = retrying
          ? { operation: context.operation, signal, deadline: context.deadline, attempt }
          : context;
        budget?.attemptStarted();
        try {
          result = await next(attemptContext);
        } catch (caught) {
          error = caught;
          failed = true;
        } finally {
          budget?.attemptEnded();
          if (retrying) budget?.releaseRetry();
        }
      }

      let pushback: number | undefined;
      if (!failed) {
        if (retryOnResult === undefined || !retryOnResult(result)) {
          budget?.recordSuccess();
          return result;
        }
        pushback = retryAfterOfResult?.(result);
      } else {
        // A caller's mistake is no evidence against the callee: no token taken.
        if (signal.aborted || !shouldRetry(error)) throw error;
        pushback = retryAfterMsOf(error);
      }
      budget?.recordFailure();

      let reason: GiveUpReason | undefined;
      let delay = 0;
      const decision = schedule.next(pushback);
      if (!decision.retry) reason = decision.reason;
      else {
        delay = decision.delayMs;
        if (context.deadline !== undefined && clock.now() + delay >= context.deadline) {
          reason = "deadline";
        } else if (budget !== undefined) {
          // Taken now and held through the backoff, released when the retry attempt ends.
          const verdict = budget.acquireRetry();
          if (verdict !== "ok") reason = verdict;
        }
      }
      if (reason !== undefined) {
        giveUp(reason, attempt, error);
        if (failed) throw error;
        return result;
      }

      onRetry?.({
        attempt: attempt + 1,
        delayMs: delay,
        delaySource: decision.retry ? decision.source : "backoff",
        error,
      });
      if (delay > 0) {
        try {
          await sleep(delay, signal, clock);
        } catch {
          budget?.releaseRetry();
          throw abortError(signal);
        }
      } else if (signal.aborted) {
        budget?.releaseRetry();
        throw abortError(signal);
      }
      attempt++;
    }
  }

  /** The first attempt's success on the fast path: settle its budget accounting. */
  const firstSucceeded =
    budget === undefined
      ? undefined
      : (value: unknown): unknown => {
          budget.attemptEnded();
          budget.recordSuccess();
          return value;
        };

  return (next) =>
    function retry(attempt) {
      if (retryOnResult !== undefined) return loop(next, attempt, false, undefined);
      // Fast path: the first attempt without an async frame; the loop only after a failure.
      budget?.attemptStarted();
      const onFailure = (error: unknown): Promise<unknown> => {
        budget?.attemptEnded();
        return loop(next, attempt, true, error);
      };
      const first = next(attempt);
      return firstSucceeded === undefined
        ? first.catch(onFailure)
        : first.then(firstSucceeded, onFailure);
    };
}
