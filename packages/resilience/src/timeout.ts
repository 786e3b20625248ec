import {
  neverAborted,
  rejectedWith,
  RaceEntry,
  slotOfSignal,
  systemClock,
  timerSlotsFor,
  type Clock,
  type TimerSlot,
  type TimerSlots,
} from "@plexus/core";
import { abortError, deadlinePassed } from "./errors.ts";
import {
  withState,
  type Attempt,
  type AttemptHandler,
  type Operation,
  type Policy,
} from "./policy.ts";

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
  /**
   * `true`: a safety net that only cuts attempts that hang. It tightens the deadline an
   * execution already carries, but gives none to one that has none: `context.deadline` stays
   * `undefined`, so nothing is propagated (no `connect-timeout-ms`, no timer at the callee) for
   * a limit nobody chose. Enforcement is the same either way. Default `false`.
   */
  safetyNet?: boolean;
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

/**
 * An attempt under a timeout, with what enforces its deadline. It is also the attempt's entry in
 * its timer slot when raced, so a raced attempt allocates nothing more than its race promise.
 */
export class TimedContext extends RaceEntry implements Attempt {
  readonly operation: Operation<unknown>;
  readonly signal: AbortSignal;
  readonly deadline: number | undefined;
  readonly attempt: number;
  /** The shared timer slot to race in, when the signal is a pure timer signal. */
  readonly raceSlot: TimerSlot | undefined;
  /** The per-call link, when the caller's signal may abort for other reasons than time. */
  readonly link: LinkedAbort | undefined;

  constructor(
    outer: Attempt,
    signal: AbortSignal,
    deadline: number | undefined,
    raceSlot: TimerSlot | undefined,
    link: LinkedAbort | undefined,
  ) {
    super();
    this.operation = outer.operation;
    this.signal = signal;
    this.deadline = deadline;
    this.attempt = outer.attempt;
    this.raceSlot = raceSlot;
    this.link = link;
  }
}

type PromiseExecutor<T> = ConstructorParameters<typeof Promise<T>>[0];

let capturedResolve: (value: unknown) => void = () => {};
let capturedReject: (error: unknown) => void = () => {};
/** One shared promise executor: capturing the resolvers needs no closure per race. */
function captureResolvers(
  resolve: (value: unknown) => void,
  reject: (error: unknown) => void,
): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/**
 * The timeout's logic as three synchronous steps, so a fused pipeline can run it without a
 * promise layer of its own: `enter` before the attempt, `race` around it, `exit` after it.
 */
export class TimeoutCore {
  private readonly timeoutMs: number;
  private readonly aggressive: boolean;
  private readonly safetyNet: boolean;
  private readonly slots: TimerSlots;

  constructor(timeoutMs: number, aggressive: boolean, safetyNet: boolean, slots: TimerSlots) {
    this.timeoutMs = timeoutMs;
    this.aggressive = aggressive;
    this.safetyNet = safetyNet;
    this.slots = slots;
  }

  /**
   * The attempt's context under this timeout (the caller's, unchanged, when nothing bounds
   * it). Throws when the deadline has already passed: no attempt starts after it.
   */
  enter(context: Attempt, now: number): Attempt {
    const parent = context.signal;
    if (parent.aborted) throw abortError(parent);
    const given = context.deadline;
    let deadline = now + this.timeoutMs;
    if (given !== undefined && given < deadline) deadline = given;
    if (deadline <= now) throw deadlinePassed();
    if (deadline === Infinity) return context;
    const slot = this.slots.slotFor(deadline, now);
    // What the attempt propagates: a safety net never creates a deadline, only tightens one.
    const propagated = given === undefined && this.safetyNet ? undefined : deadline;
    if (parent === neverAborted) {
      return new TimedContext(context, slot.signal, propagated, slot, undefined);
    }
    const parentSlot = slotOfSignal(parent);
    if (parentSlot === undefined) {
      // A caller signal that may abort at any time: link it with the slot.
      const link = new LinkedAbort(parent, slot.signal);
      return new TimedContext(context, link.controller.signal, propagated, undefined, link);
    }
    // The caller's signal is itself a timer: the earlier of the two slots does the job.
    const earlier = parentSlot.at <= slot.at ? parentSlot : slot;
    return new TimedContext(context, earlier.signal, propagated, earlier, undefined);
  }

  /**
   * The attempt's promise, raced against its deadline when the strategy is aggressive: it
   * settles with the attempt, or rejects when the slot fires (or the linked signal aborts).
   */
  race<T>(promise: Promise<T>, inner: Attempt): Promise<T> {
    if (!this.aggressive || !(inner instanceof TimedContext)) return promise;
    const raced = new Promise<T>(captureResolvers as PromiseExecutor<T>);
    const resolve = capturedResolve;
    const reject = capturedReject;
    if (inner.raceSlot !== undefined) {
      inner.resolve = resolve;
      inner.reject = reject;
      inner.raceSlot.add(inner);
    } else {
      inner.link!.reject = reject;
    }
    promise.then(resolve, reject);
    return raced;
  }

  /** Unlinks what `enter` and `race` linked; call it once the attempt settled. */
  exit(inner: Attempt): void {
    if (!(inner instanceof TimedContext)) return;
    if (inner.link !== undefined) inner.link.release();
    else inner.raceSlot?.remove(inner);
  }
}

async function runTimed(core: TimeoutCore, next: AttemptHandler, inner: Attempt): Promise<unknown> {
  try {
    return await core.race(next(inner), inner);
  } finally {
    core.exit(inner);
  }
}

/** Internal access to a built-in policy's core, for fused pipelines. */
export const timeoutCore = Symbol("plexus.resilience.timeout");

export type TimeoutPolicy = Policy & { readonly [timeoutCore]: TimeoutCore };

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
 * await execute(perTry, (signal) => fetch(url, { signal }));
 */
export function createTimeout(options: TimeoutOptions): TimeoutPolicy {
  const { timeoutMs } = options;
  if (!(timeoutMs > 0)) throw new RangeError("createTimeout: timeoutMs must be > 0");
  const clock = options.clock ?? systemClock;
  const aggressive = (options.strategy ?? "aggressive") === "aggressive";
  const resolutionMs = options.resolutionMs ?? 1;
  if (!(resolutionMs > 0)) throw new RangeError("createTimeout: resolutionMs must be > 0");
  const safetyNet = options.safetyNet ?? false;
  const core = new TimeoutCore(
    timeoutMs,
    aggressive,
    safetyNet,
    timerSlotsFor(clock, resolutionMs),
  );

  const timeout: Policy = (next) =>
    function timeout(attempt) {
      let inner: Attempt;
      try {
        inner = core.enter(attempt, clock.now());
      } catch (error) {
        return rejectedWith(error);
      }
      if (inner === attempt) return next(attempt);
      return runTimed(core, next, inner);
    };
  return withState(timeout, { [timeoutCore]: core });
}
