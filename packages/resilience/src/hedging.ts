import {
  Code,
  neverAborted,
  PlexusError,
  rejectedWith,
  systemClock,
  type Clock,
  type TimerHandle,
} from "@plexus/core";
import { abortError, retryAfterMsOf } from "./errors.ts";
import { type Attempt, type AttemptHandler, type Policy } from "./policy.ts";
import { isRetryableError } from "./retry.ts";
import type { BudgetVerdict, RetryBudget } from "./retry-budget.ts";

export interface HedgeEvent {
  /** The attempt being sent (2 for the first hedge). */
  readonly attempt: number;
  /** What triggered it: the hedging delay, a non-fatal failure, or a server pushback delay. */
  readonly trigger: "delay" | "non-fatal" | "pushback";
}

export interface HedgeRefusedEvent {
  /** The attempt that was not sent. */
  readonly attempt: number;
  readonly reason: Exclude<BudgetVerdict, "ok"> | "pushback" | "deadline";
}

export interface HedgingOptions {
  /**
   * Attempts in all, the first included (gRPC's `maxAttempts`). Default 2: one hedge cuts the
   * tail latency most; each further hedge adds a full request of load for less.
   */
  maxAttempts?: number;
  /**
   * Time without a response before the next hedge is sent (gRPC's `hedgingDelay`). Required:
   * set it near the callee's p95 latency, so only the slowest calls are hedged.
   */
  delayMs: number;
  /**
   * Failures after which hedging goes on (gRPC's `nonFatalStatusCodes`) — the next hedge is
   * then sent at once. Any other failure cancels every attempt and is returned. Default
   * {@link isRetryableError}.
   */
  isNonFatal?: (error: unknown) => boolean;
  /** The callee's retry budget: hedges are sent only while it allows (gRFC A6 throttling). */
  budget?: RetryBudget;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
  /** Called for every hedge sent. */
  onHedge?: (event: HedgeEvent) => void;
  /** Called when a hedge is not sent because of the budget, a pushback or the deadline. */
  onRefused?: (event: HedgeRefusedEvent) => void;
}

/** Why a losing hedge's signal aborts. */
function hedgeLost(): PlexusError {
  return new PlexusError(Code.Canceled, "another hedged attempt won");
}

interface Settings {
  readonly maxAttempts: number;
  readonly delayMs: number;
  readonly isNonFatal: (error: unknown) => boolean;
  readonly budget: RetryBudget | undefined;
  readonly clock: Clock;
  readonly onHedge: ((event: HedgeEvent) => void) | undefined;
  readonly onRefused: ((event: HedgeRefusedEvent) => void) | undefined;
}

/** One hedged call: its attempts, its hedge timer, and how it settles. */
class HedgedCall {
  private readonly settings: Settings;
  private readonly next: AttemptHandler;
  private readonly context: Attempt;
  private readonly controllers: (AbortController | undefined)[] = [];
  private readonly resolve: (value: unknown) => void;
  private readonly reject: (error: unknown) => void;
  private sent = 0;
  private outstanding = 0;
  private done = false;
  /** No more hedges (pushback said so, the budget or the deadline refused one). */
  private stopped = false;
  private timer: TimerHandle = undefined;
  private lastError: unknown;

  constructor(
    settings: Settings,
    next: AttemptHandler,
    context: Attempt,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
  ) {
    this.settings = settings;
    this.next = next;
    this.context = context;
    this.resolve = resolve;
    this.reject = reject;
  }

  start(): void {
    if (this.context.signal !== neverAborted) {
      this.context.signal.addEventListener("abort", this, { once: true });
    }
    this.send();
    this.schedule(this.settings.delayMs, "delay");
  }

  /** The caller's signal aborted: every attempt stops and the call fails with its reason. */
  handleEvent(): void {
    this.finish(abortError(this.context.signal), false);
  }

  private schedule(delayMs: number, trigger: HedgeEvent["trigger"]): void {
    const { clock } = this.settings;
    if (this.timer !== undefined) clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.done || this.stopped || this.sent >= this.settings.maxAttempts) return;
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      if (this.hedge(trigger)) this.schedule(this.settings.delayMs, "delay");
    }, delayMs);
  }

  /** Sends the next hedge if allowed; `false` when hedging is over. */
  private hedge(trigger: HedgeEvent["trigger"]): boolean {
    if (this.done || this.stopped || this.sent >= this.settings.maxAttempts) return false;
    const attempt = this.sent + 1;
    const { budget, clock, onRefused, onHedge } = this.settings;
    let refusal: HedgeRefusedEvent["reason"] | undefined;
    const deadline = this.context.deadline;
    if (deadline !== undefined && clock.now() >= deadline) refusal = "deadline";
    else if (budget !== undefined) {
      const verdict = budget.acquireRetry();
      if (verdict !== "ok") refusal = verdict;
    }
    if (refusal !== undefined) {
      this.stopped = true;
      onRefused?.({ attempt, reason: refusal });
      if (this.outstanding === 0) this.finish(this.lastError, false);
      return false;
    }
    onHedge?.({ attempt, trigger });
    this.send();
    return true;
  }

  private send(): void {
    const index = this.sent++;
    const controller = new AbortController();
    this.controllers[index] = controller;
    this.outstanding++;
    const hedge = index > 0;
    const { budget } = this.settings;
    budget?.attemptStarted();
    let promise: Promise<unknown>;
    try {
      promise = this.next({
        operation: this.context.operation,
        signal: controller.signal,
        deadline: this.context.deadline,
        attempt: index + 1,
      });
    } catch (error) {
      promise = rejectedWith(error);
    }
    promise.then(
      (value) => {
        budget?.attemptEnded();
        if (hedge) budget?.releaseRetry();
        this.succeeded(index, value);
      },
      (error: unknown) => {
        budget?.attemptEnded();
        if (hedge) budget?.releaseRetry();
        this.failed(index, error);
      },
    );
  }

  private succeeded(index: number, value: unknown): void {
    this.outstanding--;
    this.controllers[index] = undefined;
    if (this.done) return;
    this.settings.budget?.recordSuccess();
    this.finish(value, true);
  }

  private failed(index: number, error: unknown): void {
    this.outstanding--;
    this.controllers[index] = undefined;
    if (this.done) return;
    this.lastError = error;
    if (!this.settings.isNonFatal(error)) {
      this.finish(error, false);
      return;
    }
    this.settings.budget?.recordFailure();
    const pushback = retryAfterMsOf(error);
    if (pushback !== undefined && pushback < 0) {
      this.stopped = true;
      this.settings.onRefused?.({ attempt: this.sent + 1, reason: "pushback" });
    } else if (pushback !== undefined) {
      // A6: the next hedge after the pushback, the ones after at pushback + hedgingDelay.
      this.schedule(pushback, "pushback");
    } else if (this.hedge("non-fatal")) {
      this.schedule(this.settings.delayMs, "delay");
    }
    if (this.outstanding === 0 && (this.stopped || this.sent >= this.settings.maxAttempts)) {
      this.finish(error, false);
    }
  }

  private finish(outcome: unknown, success: boolean): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) this.settings.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.context.signal !== neverAborted) {
      this.context.signal.removeEventListener("abort", this);
    }
    // The losers are cancelled: their signals abort, their late outcomes are dropped.
    const reason = success ? hedgeLost() : abortReasonFor(outcome);
    for (const controller of this.controllers) controller?.abort(reason);
    if (success) this.resolve(outcome);
    else this.reject(outcome);
  }
}

function abortReasonFor(outcome: unknown): PlexusError {
  return outcome instanceof PlexusError ? outcome : PlexusError.from(outcome);
}

/**
 * Hedging per gRFC A6: the first attempt goes at once; each `delayMs` without a success sends
 * one more, up to `maxAttempts`; a non-fatal failure sends the next at once; the first success
 * wins and every other attempt is cancelled (its signal aborts); a fatal failure cancels all
 * and is returned; a pushback delays the next hedge (negative: no more hedges); hedges are sent
 * only while the callee's budget allows; the caller's deadline bounds them all. Only for
 * idempotent operations: several attempts may run to completion on the callee.
 *
 * @example
 * const hedging = createHedgingPolicy({ delayMs: 50, maxAttempts: 2, budget });
 * const product = await execute(hedging, (signal) => catalog.getProduct({ id }, { signal }));
 */
export function createHedgingPolicy(options: HedgingOptions): Policy {
  const maxAttempts = options.maxAttempts ?? 2;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) {
    throw new RangeError("createHedgingPolicy: maxAttempts must be an integer >= 1");
  }
  if (!(options.delayMs >= 0)) throw new RangeError("createHedgingPolicy: delayMs must be >= 0");
  const settings: Settings = {
    maxAttempts,
    delayMs: options.delayMs,
    isNonFatal: options.isNonFatal ?? isRetryableError,
    budget: options.budget,
    clock: options.clock ?? systemClock,
    onHedge: options.onHedge,
    onRefused: options.onRefused,
  };
  return (next) =>
    function hedging(attempt) {
      if (attempt.signal.aborted) return Promise.reject(abortError(attempt.signal));
      return new Promise<unknown>((resolve, reject) => {
        new HedgedCall(settings, next, attempt, resolve, reject).start();
      });
    };
}
