import { afterEach, describe, expect, it, vi } from "vitest";
import { childScope, neverAborted } from "./call-scope.ts";
import type { Clock } from "./clock.ts";
import { Code } from "./code.ts";
import type { CallContext } from "./context.ts";
import { PlexusError } from "./plexus-error.ts";

/** A clock whose time only moves when told, counting the timers armed on it. */
function manualClock(start = 1_000) {
  let now = start;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let ids = 0;
  let armed = 0;
  const clock: Clock = {
    now: () => now,
    setTimeout(fn, ms) {
      armed++;
      timers.set(++ids, { at: now + ms, fn });
      return ids;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
  };
  return {
    clock,
    armed: () => armed,
    advance: (ms: number): void => {
      now += ms;
      for (const [id, timer] of [...timers]) {
        if (timer.at > now) continue;
        timers.delete(id);
        timer.fn();
      }
    },
  };
}

/** Counts `new AbortController()` while installed. */
function countControllers(): () => number {
  let created = 0;
  const Original = globalThis.AbortController;
  class Counting extends Original {
    constructor() {
      super();
      created++;
    }
  }
  vi.stubGlobal("AbortController", Counting);
  return () => created;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const parent: CallContext = {
  correlationId: "corr-1",
  requestId: "req-1",
  trace: { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", flags: "01" },
  principal: { subject: "user-7" },
  idempotencyKey: "key-1",
  caller: "gateway",
  deadline: 5_000,
};

describe("childScope", () => {
  it("inherits the deadline, idempotency key, principal and correlation; gets a child span", () => {
    const { clock } = manualClock();
    const scope = childScope(parent, { clock });
    expect(scope).toMatchObject({
      correlationId: "corr-1",
      requestId: "req-1",
      principal: { subject: "user-7" },
      idempotencyKey: "key-1",
      deadline: 5_000,
    });
    expect(scope.trace?.traceId).toBe(parent.trace!.traceId);
    expect(scope.trace?.spanId).not.toBe(parent.trace!.spanId);
    // The caller is who calls now, never inherited.
    expect(scope.caller).toBeUndefined();
    expect(childScope(scope, { clock }).idempotencyKey).toBe("key-1");
  });

  it("takes the earliest deadline: a child never outlives its parent", () => {
    const { clock } = manualClock(1_000);
    expect(childScope(parent, { clock, timeoutMs: 500 }).deadline).toBe(1_500);
    expect(childScope(parent, { clock, timeoutMs: 60_000 }).deadline).toBe(5_000);
    expect(childScope(parent, { clock, deadline: 4_000 }).deadline).toBe(4_000);
    expect(childScope(parent, { clock, deadline: 9_000 }).deadline).toBe(5_000);
    expect(childScope(undefined, { clock }).deadline).toBeUndefined();
  });

  it("refuses to start past the deadline or once a signal aborted", () => {
    const { clock } = manualClock(5_000);
    expect(() => childScope(parent, { clock })).toThrow(
      expect.objectContaining({ code: Code.DeadlineExceeded }),
    );
    const aborted = AbortSignal.abort(new PlexusError(Code.Canceled, "gone"));
    expect(() => childScope(undefined, { clock, signal: aborted })).toThrow("gone");
    expect(() =>
      childScope({ ...parent, deadline: undefined, signal: aborted }, { clock }),
    ).toThrow("gone");
  });

  it("a call that finishes in time costs no AbortController and no timer of its own", () => {
    const { clock, armed } = manualClock();
    const controllers = countControllers();
    for (let i = 0; i < 20; i++) {
      const scope = childScope(undefined, { clock, timeoutMs: 100 });
      expect(scope.signal.aborted).toBe(false);
      scope.release();
    }
    // Twenty calls in the same millisecond share one slot: one timer and one controller.
    expect(armed()).toBe(1);
    expect(controllers()).toBe(1);
  });

  it("builds no signal until someone reads it, and then only what can abort it", () => {
    const { clock, armed } = manualClock();
    const controllers = countControllers();
    const root = childScope(undefined, { clock });
    expect(root.signal).toBe(neverAborted);
    const caller = new AbortController().signal;
    expect(childScope(undefined, { clock, signal: caller }).signal).toBe(caller);
    // A caller handing down its own context's signal gives no second reason to abort.
    const context: CallContext = { correlationId: "c", requestId: "r", signal: caller };
    expect(childScope(context, { clock, signal: caller }).signal).toBe(caller);
    // A child inheriting its parent scope's deadline uses the parent's signal as it is.
    const timed = childScope(undefined, { clock, timeoutMs: 100 });
    expect(childScope(timed, { clock }).signal).toBe(timed.signal);
    childScope(timed, { clock, timeoutMs: 50 });
    expect(armed()).toBe(1);
    expect(controllers()).toBe(2); // the caller's, and the slot's
  });

  it("aborts with DeadlineExceeded at the deadline, and with the caller's reason when it cancels", () => {
    const { clock, advance } = manualClock();
    const timed = childScope(undefined, { clock, timeoutMs: 100 });
    const signal = timed.signal;
    advance(99);
    expect(signal.aborted).toBe(false);
    advance(1);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as PlexusError).code).toBe(Code.DeadlineExceeded);

    const caller = new AbortController();
    const linked = childScope(undefined, { clock, timeoutMs: 100, signal: caller.signal });
    const reason = new PlexusError(Code.Canceled, "user left");
    caller.abort(reason);
    expect(linked.signal.reason).toBe(reason);
  });

  it("a cancellable scope has no timer; cancelling it aborts its children", () => {
    const { clock, armed } = manualClock();
    const controllers = countControllers();
    const server = childScope(parent, { clock, cancellable: true, requestId: "own" });
    expect(server.requestId).toBe("own");
    const child = childScope(server, { clock, timeoutMs: 10 });
    expect(controllers()).toBe(0);
    const childSignal = child.signal;
    const reason = new PlexusError(Code.Canceled, "client went away");
    server.cancel(reason);
    expect(childSignal.aborted).toBe(true);
    expect(childSignal.reason).toBe(reason);
    expect(armed()).toBe(1); // the child's own 10 ms, in a shared slot
    // Read after the cancel, the signal is already aborted.
    const late = childScope(parent, { clock, cancellable: true });
    late.cancel(reason);
    expect(late.signal.aborted).toBe(true);
    expect(() => child.cancel(reason)).toThrow(TypeError);
  });

  it("release stops listening to the parent", () => {
    const { clock } = manualClock();
    const parentController = new AbortController();
    const scope = childScope(
      { ...parent, deadline: undefined, signal: parentController.signal },
      { clock, signal: new AbortController().signal },
    );
    const signal = scope.signal;
    scope.release();
    parentController.abort();
    expect(signal.aborted).toBe(false);
  });
});
