import type { Clock, TimerHandle } from "@plexus/core";

/**
 * A {@link Clock} whose time moves only when a test says so. Timers fire in due-time order (ties in
 * the order they were set), including timers that callbacks set while the clock advances.
 */
export interface FakeClock extends Clock {
  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, each at its own due
   * time (`now()` inside a callback is that callback's due time). Synchronous: code that awaits
   * between timers needs {@link FakeClock.advanceAsync}.
   */
  advance(ms: number): void;
  /**
   * Like `advance`, but lets pending promise reactions run before and after each timer, so a
   * timer set after an `await` in a fired callback (a retry loop, `await sleep()` in a loop) is
   * still seen within the same advance.
   */
  advanceAsync(ms: number): Promise<void>;
  /** Sets the time without firing anything (for wall-clock dependent code). */
  setNow(now: number): void;
  /** How many timers are pending. */
  pendingTimers(): number;
}

interface FakeTimer {
  readonly id: number;
  readonly due: number;
  readonly callback: () => void;
}

/** Opaque handle of a fake timer; a class, so a handle from another clock is never mistaken. */
class FakeTimerHandle {
  readonly id: number;
  constructor(id: number) {
    this.id = id;
  }
}

// Captured at load: a test that installs fake timers (vi.useFakeTimers) must not stall this.
const realSetImmediate = globalThis.setImmediate;

/** Lets every queued promise reaction run, however deep the chain: they all precede a macrotask. */
function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

/**
 * Creates a fake clock for time-based tests: no sleeps, no flaky timing.
 *
 * @param start The initial `now()` in epoch ms. Default: 0.
 * @example
 * const clock = createFakeClock();
 * const slept = sleep(1_000, undefined, clock);
 * clock.advance(1_000);
 * await slept;
 */
export function createFakeClock(start = 0): FakeClock {
  let now = start;
  let nextId = 0;
  const timers = new Map<number, FakeTimer>();

  /** The next timer due at or before `until`, earliest first, ties by creation order. */
  function nextDue(until: number): FakeTimer | undefined {
    let next: FakeTimer | undefined;
    for (const timer of timers.values()) {
      if (timer.due > until) continue;
      if (
        next === undefined ||
        timer.due < next.due ||
        (timer.due === next.due && timer.id < next.id)
      ) {
        next = timer;
      }
    }
    return next;
  }

  function fire(timer: FakeTimer): void {
    timers.delete(timer.id);
    now = Math.max(now, timer.due);
    timer.callback();
  }

  function checkMs(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance by ${ms} ms`);
  }

  return {
    now: () => now,
    setTimeout(callback, ms): TimerHandle {
      const id = ++nextId;
      // Like Node: a negative or non-finite delay means "as soon as possible".
      const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
      timers.set(id, { id, due: now + delay, callback });
      return new FakeTimerHandle(id);
    },
    clearTimeout(handle) {
      if (handle instanceof FakeTimerHandle) timers.delete(handle.id);
    },
    advance(ms) {
      checkMs(ms);
      const until = now + ms;
      for (let timer = nextDue(until); timer; timer = nextDue(until)) fire(timer);
      now = until;
    },
    async advanceAsync(ms) {
      checkMs(ms);
      const until = now + ms;
      await flushMicrotasks();
      for (let timer = nextDue(until); timer; timer = nextDue(until)) {
        fire(timer);
        await flushMicrotasks();
      }
      now = until;
    },
    setNow(value) {
      now = value;
    },
    pendingTimers: () => timers.size,
  };
}
