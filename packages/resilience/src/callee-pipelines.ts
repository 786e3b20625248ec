import { systemClock, type Clock } from "@plexus/core";
import { createBulkhead } from "./bulkhead.ts";
import { createCircuitBreaker, type CircuitBreaker } from "./circuit-breaker.ts";
import {
  calleePolicies,
  merge,
  perTryTimeoutOf,
  type CalleePolicies,
  type ClientResilienceOptions,
  type RejectingPolicy,
} from "./callee-policies.ts";
import { createHedgingPolicy } from "./hedging.ts";
import { createPipeline } from "./pipeline.ts";
import { handlerOf, type AttemptHandler, type Policy } from "./policy.ts";
import { createRateLimiter } from "./rate-limiter.ts";
import { createRetryPolicy } from "./retry.ts";
import { createRetryBudget, type RetryBudget } from "./retry-budget.ts";
import { createTimeout } from "./timeout.ts";

/** One callee's shared policy state, created by its first call. */
export interface CalleeState {
  readonly name: string;
  /** Its policies, built-ins, defaults and own options merged. */
  readonly policies: CalleePolicies;
  readonly breaker: CircuitBreaker | undefined;
  readonly bulkhead: Policy | undefined;
  readonly limiter: Policy | undefined;
  readonly budget: RetryBudget | undefined;
  readonly methods: Map<string, MethodPipelines>;
}

/**
 * The three pipelines of a method, composed around the operation call once; which one a call
 * takes depends on its idempotency.
 */
export interface MethodPipelines {
  /** Idempotent calls: hedging if configured, else retry. */
  readonly idempotent: AttemptHandler;
  /** Non-idempotent calls with an idempotency key: retry, never hedging. */
  readonly keyed: AttemptHandler;
  /** Non-idempotent calls without a key: one attempt (still budgeted and measured). */
  readonly single: AttemptHandler;
}

/**
 * The shared timers of a per-try timeout enforce it at most 1 ‰ late: a 10 s safety net then
 * opens a timer slot (a timer and an AbortController) per 10 ms of calls instead of per 1 ms,
 * and calls in a burst share it.
 */
function perTryResolutionMs(timeoutMs: number): number {
  return Math.max(1, Math.floor(timeoutMs / 1_000));
}

/**
 * The per-callee state (circuit breaker, bulkhead, rate limiter, retry budget) and per-method
 * pipelines of a client, built on first use and kept for the client's life.
 */
export class CalleePipelines {
  private readonly options: ClientResilienceOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly callees = new Map<string, CalleeState>();

  constructor(options: ClientResilienceOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  /** The callee's state, when a call created it. */
  existing(name: string): CalleeState | undefined {
    return this.callees.get(name);
  }

  all(): IterableIterator<CalleeState> {
    return this.callees.values();
  }

  callee(name: string): CalleeState {
    let state = this.callees.get(name);
    if (state !== undefined) return state;
    const { clock } = this;
    const { onReject, onStateChange } = this.options;
    const policies = calleePolicies(this.options, name);
    const breaker =
      policies.circuitBreaker === false
        ? undefined
        : createCircuitBreaker({
            ...policies.circuitBreaker,
            clock,
            onStateChange: ({ from, to }) => onStateChange?.({ callee: name, from, to }),
            onReject: ({ state: s }) =>
              onReject?.({ callee: name, method: undefined, policy: "circuit-breaker", reason: s }),
          });
    const bulkhead =
      policies.bulkhead === false
        ? undefined
        : createBulkhead({
            ...policies.bulkhead,
            clock,
            onReject: ({ kind }) =>
              onReject?.({ callee: name, method: undefined, policy: "bulkhead", reason: kind }),
          });
    const limiter =
      policies.rateLimiter === false
        ? undefined
        : createRateLimiter({
            ...policies.rateLimiter,
            clock,
            onReject: () =>
              onReject?.({
                callee: name,
                method: undefined,
                policy: "rate-limiter",
                reason: "rate-limited",
              }),
          });
    const budget =
      policies.retryBudget === false ? undefined : createRetryBudget(policies.retryBudget);
    state = { name, policies, breaker, bulkhead, limiter, budget, methods: new Map() };
    this.callees.set(name, state);
    return state;
  }

  method(callee: CalleeState, method: string): MethodPipelines {
    let found = callee.methods.get(method);
    if (found !== undefined) return found;
    const { clock, random } = this;
    const { onRetry, onReject } = this.options;
    const own = this.options.callees?.[callee.name]?.methods?.[method] ?? {};
    const retryOptions = merge(callee.policies.retry, own.retry);
    const hedgingOptions = merge(callee.policies.hedging, own.hedging);
    const perTry = perTryTimeoutOf(this.options, callee.name, method);
    const target = { callee: callee.name, method };
    const { budget } = callee;
    const giveUp =
      (policy: RejectingPolicy) =>
      ({ reason }: { reason: string }) => {
        // Running out of attempts is the retry doing its job, not a refusal.
        if (reason !== "max-attempts") onReject?.({ ...target, policy, reason });
      };
    const retry = (maxAttempts: number | undefined): Policy =>
      createRetryPolicy({
        ...(retryOptions === false ? {} : retryOptions),
        ...(retryOptions === false || maxAttempts !== undefined
          ? { maxAttempts: maxAttempts ?? 1 }
          : {}),
        budget,
        clock,
        random,
        onRetry: ({ attempt, delayMs }) => onRetry?.({ ...target, attempt, delayMs, hedge: false }),
        onGiveUp: giveUp("retry"),
      });
    const hedging =
      hedgingOptions === false
        ? undefined
        : createHedgingPolicy({
            ...hedgingOptions,
            budget,
            clock,
            onHedge: ({ attempt }) => onRetry?.({ ...target, attempt, delayMs: 0, hedge: true }),
            onRefused: giveUp("hedging"),
          });
    const timeout =
      perTry.timeoutMs === false
        ? undefined
        : createTimeout({
            timeoutMs: perTry.timeoutMs,
            clock,
            strategy: "aggressive",
            resolutionMs: perTryResolutionMs(perTry.timeoutMs),
            safetyNet: !perTry.configured,
          });
    const shared = {
      clock,
      rateLimiter: callee.limiter,
      bulkhead: callee.bulkhead,
      circuitBreaker: callee.breaker,
      timeout,
    };
    const retrying = retry(undefined);
    found = {
      idempotent: handlerOf(
        createPipeline(
          hedging !== undefined ? { ...shared, hedging } : { ...shared, retry: retrying },
        ),
      ),
      keyed: handlerOf(createPipeline({ ...shared, retry: retrying })),
      single: handlerOf(createPipeline({ ...shared, retry: retry(1) })),
    };
    callee.methods.set(method, found);
    return found;
  }
}
