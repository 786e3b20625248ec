import { systemClock, type Clock } from "@plexus/core";
import { abortError, deadlineExceeded } from "./errors.ts";
import {
  executeWith,
  neverAborted,
  type ExecuteOptions,
  type Next,
  type Operation,
  type Policy,
  type PolicyContext,
} from "./policy.ts";
import { RaceEntry, slotOfSignal, timerSlotsFor, type TimerSlot } from "./timer-slots.ts";

export interface TimeoutOptions {
  /**
   * Time allowed, in ms, from the moment the policy runs. `Infinity` enforces only the deadline
   * the execution already carries (the caller's), which makes this the overall-deadline layer.
   * Either way the effective deadline is the earliest of the two: a child never outlives its
   * parent. Required: there is no timeout that suits every call.
   */
  timeoutMs: number;
  /**
   * `aggressive` (default): the caller gets `DeadlineExceeded` at the deadline even when the
   * operation ignores its signal (like Resilience4j's TimeLimiter and opossum), so callers'
   * latency stays bounded. `cooperative`: only the signal is aborted and the operation decides
   * when to settle; it saves one promise per call for operations known to honour their signal.
   */
  strategy?: "aggressive" | "cooperative";
  /** Time source. Default `systemClock`; tests inject a fake one. */
  clock?: Clock;
  /**
   * Granularity of the shared timers, in ms. Default 1: deadlines are enforced at most 1 ms late
   * and never early, and every call that falls in the same millisecond shares one timer and one
   * AbortController, instead of each paying for its own.
   */
  resolutionMs?: number;
}

/** Links an abortable caller signal with a slot: the one case that needs its own controller. */
class LinkedAbort {
  readonly controller = new AbortController();
  private readonly parent: AbortSignal;
  private readonly slot: AbortSignal;
  reject: ((error: unknown) => void) | undefined = undefined;

  constructor(parent: AbortSignal, slot: AbortSignal) {
    this.parent = parent;
    this.slot = slot;
    parent.addEventListener("abort", this);
    slot.addEventListener("abort", this);
  }

  handleEvent(event: Event): void {
    const signal = event.target as AbortSignal;
    this.controller.abort(signal.reason);
    this.release();
    this.reject?.(abortError(signal));
  }

  release(): void {
    this.parent.removeEventListener("abort", this);
    this.slot.removeEventListener("abort", this);
  }
}

function raceInSlot<T>(promise: Promise<T>, slot: TimerSlot): Promise<T> {
  const entry = new RaceEntry();
  const raced = new Promise<T>((resolve, reject) => {
    entry.resolve = resolve as (value: unknown) => void;
    entry.reject = reject;
  });
  slot.add(entry);
  promise.then(
    (value) => {
      slot.remove(entry);
      entry.resolve(value);
    },
    (error: unknown) => {
      slot.remove(entry);
      entry.reject(error);
    },
  );
  return raced;
}

async function runLinked<T>(
  next: Next,
  fn: Operation<T>,
  context: PolicyContext,
  link: LinkedAbort,
  aggressive: boolean,
): Promise<T> {
  try {
    const promise = next.run(fn, context);
    if (!aggressive) return await promise;
    return await new Promise<T>((resolve, reject) => {
      link.reject = reject;
      promise.then(resolve, reject);
    });
  } finally {
    link.release();
  }
}

/**
 * A timeout: the operation's signal aborts, and (aggressive strategy) the caller gets
 * `DeadlineExceeded`, when its time is up or the caller's deadline comes, whichever is first.
 * No attempt starts once the deadline has passed. Place it innermost for a per-try timeout, or
 * outermost with `timeoutMs: Infinity` (or a budget) for the overall deadline; the effective
 * deadline is handed inwards as `context.deadline` for propagation (`connect-timeout-ms`,
 * `grpc-timeout`).
 *
 * Cost: calls that finish in time share one timer and one AbortController per millisecond of
 * deadlines (see `resolutionMs`); only a caller signal that can abort for other reasons than
 * time (a user's cancellation) needs a per-call controller to link the two.
 *
 * @example
 * const perTry = createTimeout({ timeoutMs: 500 });
 * await perTry.execute((signal) => fetch(url, { signal }));
 */
export function createTimeout(options: TimeoutOptions): Policy {
  const { timeoutMs } = options;
  if (!(timeoutMs > 0)) throw new RangeError("createTimeout: timeoutMs must be > 0");
  const clock = options.clock ?? systemClock;
  const aggressive = (options.strategy ?? "aggressive") === "aggressive";
  const resolutionMs = options.resolutionMs ?? 1;
  if (!(resolutionMs > 0)) throw new RangeError("createTimeout: resolutionMs must be > 0");
  const slots = timerSlotsFor(clock, resolutionMs);

  const policy: Policy = {
    execute<T>(fn: Operation<T>, execOptions?: ExecuteOptions | AbortSignal): Promise<T> {
      return executeWith(policy, fn, execOptions);
    },
    run<T>(next: Next, fn: Operation<T>, context: PolicyContext): Promise<T> {
      const parent = context.signal;
      if (parent.aborted) return Promise.reject(abortError(parent));
      const now = clock.now();
      let deadline = now + timeoutMs;
      if (context.deadline !== undefined && context.deadline < deadline) {
        deadline = context.deadline;
      }
      if (deadline <= now) return Promise.reject(deadlineExceeded());
      if (deadline === Infinity) return next.run(fn, context);

      const slot = slots.slotFor(deadline, now);
      let raceSlot: TimerSlot;
      if (parent === neverAborted) {
        raceSlot = slot;
      } else {
        const parentSlot = slotOfSignal(parent);
        if (parentSlot === undefined) {
          // A caller signal that may abort at any time: link it with the slot.
          const link = new LinkedAbort(parent, slot.signal);
          const linked = { signal: link.controller.signal, deadline, attempt: context.attempt };
          return runLinked(next, fn, linked, link, aggressive);
        }
        // The caller's signal is itself a timer: the earlier of the two slots does the job.
        raceSlot = parentSlot.at <= slot.at ? parentSlot : slot;
      }
      const inner =
        raceSlot.signal === parent && deadline === context.deadline
          ? context
          : { signal: raceSlot.signal, deadline, attempt: context.attempt };
      const promise = next.run(fn, inner);
      return aggressive ? raceInSlot(promise, raceSlot) : promise;
    },
  };
  return policy;
}
