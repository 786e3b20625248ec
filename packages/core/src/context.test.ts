import { EventEmitter } from "node:events";
import { setImmediate as setImmediatePromise } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Clock } from "./clock.ts";
import { Code } from "./code.ts";
import {
  assertDeadline,
  currentContext,
  earliestDeadline,
  remainingMs,
  runInContext,
  type CallContext,
} from "./context.ts";
import { PlexusError } from "./plexus-error.ts";

const ctxA: CallContext = { correlationId: "corr-a", requestId: "req-a" };
const ctxB: CallContext = { correlationId: "corr-b", requestId: "req-b" };

function seen(): string | undefined {
  return currentContext()?.correlationId;
}

describe("context propagation", () => {
  it("is absent outside runInContext", () => {
    expect(currentContext()).toBeUndefined();
  });

  it("returns fn's value and sees the context synchronously", () => {
    expect(runInContext(ctxA, () => currentContext())).toBe(ctxA);
  });

  it("survives awaits", async () => {
    const result = await runInContext(ctxA, async () => {
      await Promise.resolve();
      await setImmediatePromise();
      await new Promise((r) => setTimeout(r, 0));
      return seen();
    });
    expect(result).toBe("corr-a");
  });

  it("survives setTimeout, setImmediate and queueMicrotask callbacks", async () => {
    const observed = await runInContext(ctxA, () => {
      const viaTimeout = new Promise<string | undefined>((r) => setTimeout(() => r(seen()), 0));
      const viaImmediate = new Promise<string | undefined>((r) => setImmediate(() => r(seen())));
      const viaMicrotask = new Promise<string | undefined>((r) => queueMicrotask(() => r(seen())));
      const viaNextTick = new Promise<string | undefined>((r) => process.nextTick(() => r(seen())));
      return Promise.all([viaTimeout, viaImmediate, viaMicrotask, viaNextTick]);
    });
    expect(observed).toEqual(["corr-a", "corr-a", "corr-a", "corr-a"]);
    expect(currentContext()).toBeUndefined();
  });

  it("keeps Promise.all branches of different contexts apart", async () => {
    const branch = (ctx: CallContext, delayMs: number) =>
      runInContext(ctx, async () => {
        const before = seen();
        await new Promise((r) => setTimeout(r, delayMs));
        await Promise.resolve();
        return [before, seen()];
      });
    const results = await Promise.all([branch(ctxA, 2), branch(ctxB, 0), branch(ctxA, 1)]);
    expect(results).toEqual([
      ["corr-a", "corr-a"],
      ["corr-b", "corr-b"],
      ["corr-a", "corr-a"],
    ]);
  });

  it("carries into Promise.all branches started inside the context", async () => {
    const results = await runInContext(ctxA, () =>
      Promise.all([
        (async () => {
          await setImmediatePromise();
          return seen();
        })(),
        (async () => {
          await new Promise((r) => setTimeout(r, 1));
          return seen();
        })(),
      ]),
    );
    expect(results).toEqual(["corr-a", "corr-a"]);
  });

  it("gives EventEmitter listeners the emitter's context, not the registering one", async () => {
    // Listeners run synchronously inside emit(): they see the context of the emitting code. A
    // listener registered inside a context and fired from it sees that context.
    const emitter = new EventEmitter();
    const observed: (string | undefined)[] = [];
    runInContext(ctxA, () => {
      emitter.on("event", () => observed.push(seen()));
      emitter.emit("event");
    });
    runInContext(ctxB, () => emitter.emit("event"));
    emitter.emit("event");
    expect(observed).toEqual(["corr-a", "corr-b", undefined]);
  });

  it("lets a listener registered inside a context see it when fired asynchronously from it", async () => {
    const emitter = new EventEmitter();
    const observed = await runInContext(ctxA, async () => {
      const received = new Promise<string | undefined>((resolve) => {
        emitter.once("done", () => resolve(seen()));
      });
      setTimeout(() => emitter.emit("done"), 0);
      return received;
    });
    expect(observed).toBe("corr-a");
  });

  it("restores the outer context after a nested runInContext, sync and async", async () => {
    await runInContext(ctxA, async () => {
      expect(seen()).toBe("corr-a");
      runInContext(ctxB, () => expect(seen()).toBe("corr-b"));
      expect(seen()).toBe("corr-a");
      await runInContext(ctxB, async () => {
        await setImmediatePromise();
        expect(seen()).toBe("corr-b");
      });
      expect(seen()).toBe("corr-a");
    });
    expect(currentContext()).toBeUndefined();
  });

  it("restores the outer context when the nested fn throws", () => {
    runInContext(ctxA, () => {
      expect(() =>
        runInContext(ctxB, () => {
          throw new Error("boom");
        }),
      ).toThrow("boom");
      expect(seen()).toBe("corr-a");
    });
  });
});

function fixedClock(now: number): Clock {
  return { now: () => now, setTimeout: () => undefined, clearTimeout: () => undefined };
}

describe("deadline", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("remainingMs is Infinity without a context or a deadline", () => {
    expect(remainingMs(undefined)).toBe(Infinity);
    expect(remainingMs(ctxA)).toBe(Infinity);
  });

  it("remainingMs counts down to the deadline and goes negative past it", () => {
    const ctx = { ...ctxA, deadline: 10_000 };
    expect(remainingMs(ctx, fixedClock(9_000))).toBe(1_000);
    expect(remainingMs(ctx, fixedClock(10_000))).toBe(0);
    expect(remainingMs(ctx, fixedClock(10_250))).toBe(-250);
  });

  it("remainingMs uses the system clock by default", () => {
    vi.useFakeTimers({ now: 50_000 });
    expect(remainingMs({ ...ctxA, deadline: 50_300 })).toBe(300);
    vi.advanceTimersByTime(100);
    expect(remainingMs({ ...ctxA, deadline: 50_300 })).toBe(200);
  });

  it("assertDeadline passes before the deadline and without one", () => {
    expect(() => assertDeadline(undefined)).not.toThrow();
    expect(() => assertDeadline(ctxA, fixedClock(1e15))).not.toThrow();
    expect(() => assertDeadline({ ...ctxA, deadline: 2 }, fixedClock(1))).not.toThrow();
  });

  it("assertDeadline throws DeadlineExceeded at and past the deadline", () => {
    for (const now of [1_000, 1_001, 5_000]) {
      let thrown: unknown;
      try {
        assertDeadline({ ...ctxA, deadline: 1_000 }, fixedClock(now));
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(PlexusError);
      expect((thrown as PlexusError).code).toBe(Code.DeadlineExceeded);
    }
  });

  it("assertDeadline follows a fake system clock", () => {
    vi.useFakeTimers({ now: 0 });
    const ctx = { ...ctxA, deadline: 100 };
    expect(() => assertDeadline(ctx)).not.toThrow();
    vi.advanceTimersByTime(100);
    expect(() => assertDeadline(ctx)).toThrow(PlexusError);
  });

  it("earliestDeadline picks the earlier of two optional deadlines", () => {
    expect(earliestDeadline(undefined, undefined)).toBeUndefined();
    expect(earliestDeadline(5, undefined)).toBe(5);
    expect(earliestDeadline(undefined, 7)).toBe(7);
    expect(earliestDeadline(5, 7)).toBe(5);
    expect(earliestDeadline(9, 7)).toBe(7);
    expect(earliestDeadline(0, 7)).toBe(0);
  });
});
