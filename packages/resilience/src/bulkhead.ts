import { systemClock, type Clock, type TimerHandle } from "@plexus/core";
import { abortError, deadlineExceeded, rejection, type RejectionKind } from "./errors.ts";
import {
  executeWith,
  neverAborted,
  type ExecuteOptions,
  type Next,
  type Operation,
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

export interface Bulkhead extends Policy {
  /** Calls running. */
  readonly active: number;
  /** Calls waiting for a slot. */
  readonly queued: number;
}

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

  function refuse(kind: BulkheadRejectEvent["kind"], message: string): PlexusErrorLike {
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

  async function runHeld<T>(next: Next, fn: Operation<T>, context: PolicyContext): Promise<T> {
    try {
      return await next.run(fn, context);
    } finally {
      release();
    }
  }

  async function runQueued<T>(next: Next, fn: Operation<T>, context: PolicyContext): Promise<T> {
    const outcome = await wait(context);
    if (outcome === "granted") return runHeld(next, fn, context);
    if (outcome === "aborted") throw abortError(context.signal);
    if (outcome === "deadline") throw deadlineExceeded();
    throw refuse("bulkhead-queue-timeout", "bulkhead queue timeout");
  }

  const bulkhead: Bulkhead = {
    get active() {
      return active;
    },
    get queued() {
      return queued;
    },
    execute<T>(fn: Operation<T>, execOptions?: ExecuteOptions | AbortSignal): Promise<T> {
      return executeWith(bulkhead, fn, execOptions);
    },
    run<T>(next: Next, fn: Operation<T>, context: PolicyContext): Promise<T> {
      if (context.signal.aborted) return Promise.reject(abortError(context.signal));
      if (active < maxConcurrent) {
        active++;
        return runHeld(next, fn, context);
      }
      if (queued >= maxQueue || queueTimeoutMs <= 0) {
        return Promise.reject(refuse("bulkhead-full", "bulkhead full"));
      }
      return runQueued(next, fn, context);
    },
  };
  return bulkhead;
}

type PlexusErrorLike = ReturnType<typeof rejection>;
