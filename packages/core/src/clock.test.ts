import { afterEach, describe, expect, it, vi } from "vitest";
import { sleep, systemClock, type Clock } from "./clock.ts";

/** A minimal manual clock: timers fire only when the test says so. */
function manualClock(): Clock & { fire(): void; pending(): number } {
  let nextId = 0;
  const timers = new Map<number, () => void>();
  return {
    now: () => 0,
    setTimeout(callback) {
      timers.set(++nextId, callback);
      return nextId;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    fire() {
      const callbacks = [...timers.values()];
      timers.clear();
      for (const cb of callbacks) cb();
    },
    pending: () => timers.size,
  };
}

describe("sleep", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("resolves when the clock's timer fires, not before", async () => {
    const clock = manualClock();
    let done = false;
    const slept = sleep(1_000, undefined, clock).then(() => {
      done = true;
    });
    await Promise.resolve();
    expect(done).toBe(false);
    expect(clock.pending()).toBe(1);
    clock.fire();
    await slept;
    expect(done).toBe(true);
  });

  it("rejects with the signal's reason when aborted, and clears its timer", async () => {
    const clock = manualClock();
    const controller = new AbortController();
    const slept = sleep(1_000, controller.signal, clock);
    const reason = new Error("stop");
    controller.abort(reason);
    await expect(slept).rejects.toBe(reason);
    expect(clock.pending()).toBe(0);
  });

  it("rejects at once on an already-aborted signal, without a timer", async () => {
    const clock = manualClock();
    const reason = new Error("already");
    await expect(sleep(1_000, AbortSignal.abort(reason), clock)).rejects.toBe(reason);
    expect(clock.pending()).toBe(0);
  });

  it("stops listening to the signal once resolved", async () => {
    const clock = manualClock();
    const controller = new AbortController();
    const slept = sleep(10, controller.signal, clock);
    clock.fire();
    await slept;
    controller.abort(new Error("late"));
    // No unhandled rejection, nothing pending.
    expect(clock.pending()).toBe(0);
  });

  it("uses the system clock (fakeable) by default", async () => {
    vi.useFakeTimers();
    let done = false;
    const slept = sleep(5_000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await slept;
    expect(done).toBe(true);
  });
});

describe("systemClock", () => {
  it("tells the time and makes timers that do not hold the process open", () => {
    const before = Date.now();
    expect(systemClock.now()).toBeGreaterThanOrEqual(before);
    const handle = systemClock.setTimeout(() => undefined, 60_000) as NodeJS.Timeout;
    expect(handle.hasRef()).toBe(false);
    systemClock.clearTimeout(handle);
  });

  it("clearTimeout cancels a timer", async () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    systemClock.clearTimeout(systemClock.setTimeout(fired, 10));
    await vi.advanceTimersByTimeAsync(100);
    expect(fired).not.toHaveBeenCalled();
    vi.useRealTimers();
  });
});
