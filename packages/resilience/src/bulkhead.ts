import {
  neverAborted,
  systemClock,
  type Clock,
  type PlexusError,
  type TimerHandle,
} from "@plexus/core";
import { abortError, deadlinePassed, rejection, type RejectionKind } from "./errors.ts";
import {
  withState,
  type Attempt,
  type AttemptHandler,
  type Policy,
  type PolicyContext,
} from "./policy.ts";

export interface BulkheadRejectEvent {
  readonly kind: Extract<RejectionKind, "bulkhead-full" | "bulkhead-queue-timeout">;
  readonly active: number;
  readonly queued: number;
}

export interface BulkheadOptions {
  /**
   * Calls allowed to run at once. Required: it is the capacity of the callee (or of what the
   * caller can afford to have waiting on it), which only the deployment knows.
   */
  maxConcurrent: number;
  /**
   * Calls allowed to wait for a slot. Default 0: past capacity, fail at once — queueing only
   * helps when bursts are shorter than the callers' patience.
   */
  maxQueue?: number;
  /**
   * Longest wait in the queue, in ms; the call's own deadline and signal bound it too.
   * Default 1 000: a queue wait longer than a typical call means the bulkhead is simply full.
   */
  queueTimeoutMs?: number;
  /** Time source for the queue timeout. Default `systemClock`. */
  clock?: Clock;
  /** Called for every call refused (full, or timed out in the queue). */
  onReject?: (event: BulkheadRejectEvent) => void;
}

/**
 * The bulkhead's logic as synchronous steps, for fused pipelines: `enter` returns `undefined`
 * when a slot was taken at once, else a promise that resolves when a queued call gets its slot
 * (or rejects when it is refused); `release` gives the slot back (or hands it to a waiter).
 */
export interface BulkheadCore {
  enter(context: PolicyContext): Promise<void> | undefined;
  release(): void;
}

/** Internal access to a built-in policy's core, for fused pipelines. */
export const bulkheadCore = Symbol("plexus.resilience.bulkhead");

export type Bulkhead = Policy & {
  readonly [bulkheadCore]: BulkheadCore;
  /** Calls running. */
  readonly active: number;
  /** Calls waiting for a slot. */
  readonly queued: number;
};

type Outcome = "granted" | "timeout" | "deadline" | "aborted";

class Waiter {
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  timer: TimerHandle = undefined;
  settle: (outcome: Outcome) => void = () => {};
  readonly signal: AbortSignal;
  readonly timeoutOutcome: Outcome;

  constructor(signal: AbortSignal, timeoutOutcome: Outcome) {
    this.signal = signal;
    this.timeoutOutcome = timeoutOutcome;
  }

  handleEvent(): void {
    this.settle("aborted");
  }
}

/**
 * A bulkhead (Resilience4j's SemaphoreBulkhead, with a bounded queue): at most `maxConcurrent`
 * calls run; up to `maxQueue` more wait, first come first served, for at most `queueTimeoutMs`
 * (and never past their deadline); the rest are refused at once with `Unavailable` — one slow
 * callee cannot tie up every caller's resources.
 *
 * @example
 * const bulkhead = createBulkhead({ maxConcurrent: 32, maxQueue: 64, queueTimeoutMs: 200 });
 */
export function createBulkhead(options: BulkheadOptions): Bulkhead {
  const { maxConcurrent, onReject } = options;
  const maxQueue = options.maxQueue ?? 0;
  const queueTimeoutMs = options.queueTimeoutMs ?? 1_000;
  const clock = options.clock ?? systemClock;
  if (!(Number.isInteger(maxConcurrent) && maxConcurrent >= 1)) {
    throw new RangeError("createBulkhead: maxConcurrent must be an integer >= 1");
  }
  if (!(Number.isInteger(maxQueue) && maxQueue >= 0)) {
    throw new RangeError("createBulkhead: maxQueue must be an integer >= 0");
  }
  let active = 0;
  let queued = 0;
  let head: Waiter | undefined;
  let tail: Waiter | undefined;

  function unlink(waiter: Waiter): void {
    if (waiter.prev !== undefined) waiter.prev.next = waiter.next;
    else head = waiter.next;
    if (waiter.next !== undefined) waiter.next.prev = waiter.prev;
    else tail = waiter.prev;
    waiter.prev = waiter.next = undefined;
    queued--;
  }

  function release(): void {
    const first = head;
    if (first === undefined) {
      active--;
      return;
    }
    // The slot passes straight to the first waiter: `active` does not change.
    first.settle("granted");
  }

  function refuse(kind: BulkheadRejectEvent["kind"], message: string): PlexusError {
    onReject?.({ kind, active, queued });
    return rejection(kind, message, undefined);
  }

  function wait(context: PolicyContext): Promise<Outcome> {
    const now = clock.now();
    let waitMs = queueTimeoutMs;
    let timeoutOutcome: Outcome = "timeout";
    if (context.deadline !== undefined && context.deadline - now <= waitMs) {
      waitMs = context.deadline - now;
      timeoutOutcome = "deadline";
    }
    const waiter = new Waiter(context.signal, timeoutOutcome);
    const signal = context.signal;
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      waiter.settle = (outcome) => {
        if (settled) return;
        settled = true;
        unlink(waiter);
        if (waiter.timer !== undefined) clock.clearTimeout(waiter.timer);
        if (signal !== neverAborted) signal.removeEventListener("abort", waiter);
        resolve(outcome);
      };
      if (tail === undefined) head = tail = waiter;
      else {
        tail.next = waiter;
        waiter.prev = tail;
        tail = waiter;
      }
      queued++;
      if (waitMs !== Infinity) {
        waiter.timer = clock.setTimeout(() => waiter.settle(waiter.timeoutOutcome), waitMs);
      }
      if (signal !== neverAborted) signal.addEventListener("abort", waiter, { once: true });
    });
  }

  async function runHeld(next: AttemptHandler, attempt: Attempt): Promise<unknown> {
    try {
      return await next(attempt);
    } finally {
      release();
    }
  }

  async function queue(context: PolicyContext): Promise<void> {
    const outcome = await wait(context);
    if (outcome === "granted") return;
    if (outcome === "aborted") throw abortError(context.signal);
    if (outcome === "deadline") throw deadlinePassed();
    throw refuse("bulkhead-queue-timeout", "bulkhead queue timeout");
  }

  const core: BulkheadCore = {
    enter(context) {
      if (context.signal.aborted) return Promise.reject(abortError(context.signal));
      if (active < maxConcurrent) {
        active++;
        return undefined;
      }
      if (queued >= maxQueue || queueTimeoutMs <= 0) {
        return Promise.reject(refuse("bulkhead-full", "bulkhead full"));
      }
      return queue(context);
    },
    release,
  };

  async function runQueued(
    entered: Promise<void>,
    next: AttemptHandler,
    attempt: Attempt,
  ): Promise<unknown> {
    await entered;
    return runHeld(next, attempt);
  }

  const bulkhead: Policy = (next) =>
    function bulkhead(attempt) {
      const entered = core.enter(attempt);
      return entered === undefined ? runHeld(next, attempt) : runQueued(entered, next, attempt);
    };
  return withState(bulkhead, {
    [bulkheadCore]: core,
    get active() {
      return active;
    },
    get queued() {
      return queued;
    },
  });
}
