import { Code, PlexusError, createLogger } from "@plexus/core";
import { createFakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { composeParts, type PartFetcher } from "./compose-parts.ts";

const logger = createLogger({ name: "compose-parts-test", level: "silent" });

/** A part that answers only when the test says so (or rejects when its signal aborts). */
function controllable<T>() {
  let resolve!: (value: T) => void;
  let seenSignal: AbortSignal | undefined;
  let started = false;
  const fetch: PartFetcher<T> = (signal) => {
    started = true;
    seenSignal = signal;
    return new Promise<T>((res, reject) => {
      resolve = res;
      signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
    });
  };
  return {
    fetch,
    resolve: (value: T) => resolve(value),
    get started() {
      return started;
    },
    get signal() {
      return seenSignal;
    },
  };
}

describe("composeParts", () => {
  it("starts every part at once and keeps their values", async () => {
    const clock = createFakeClock();
    const a = controllable<string>();
    const b = controllable<number>();
    const done = composeParts(
      { a: a.fetch, b: b.fetch },
      { timeoutMs: 300, signal: new AbortController().signal, clock, logger },
    );
    // Both are in flight before either answers: parallel, not sequential.
    expect(a.started && b.started).toBe(true);
    b.resolve(2);
    a.resolve("one");
    expect(await done).toEqual({ values: { a: "one", b: 2 }, degraded: [] });
    expect(clock.pendingTimers()).toBe(0);
  });

  it("makes a part that fails null and names it", async () => {
    const clock = createFakeClock();
    const result = await composeParts(
      {
        users: () => Promise.resolve({ id: "u1" }),
        orders: () => Promise.reject(new PlexusError(Code.Unavailable, "orders is down")),
        notifications: () => Promise.resolve([]),
      },
      { timeoutMs: 300, signal: new AbortController().signal, clock, logger },
    );
    expect(result).toEqual({
      values: { users: { id: "u1" }, orders: null, notifications: [] },
      degraded: ["orders"],
    });
  });

  it("gives up on a slow part at its timeout, aborting it, without waiting for it", async () => {
    const clock = createFakeClock();
    const slow = controllable<string>();
    let settled = false;
    const done = composeParts(
      { fast: () => Promise.resolve("ok"), slow: slow.fetch },
      { timeoutMs: 300, signal: new AbortController().signal, clock, logger },
    ).finally(() => {
      settled = true;
    });
    await clock.advanceAsync(299);
    expect(settled).toBe(false);
    await clock.advanceAsync(1);
    expect(await done).toEqual({ values: { fast: "ok", slow: null }, degraded: ["slow"] });
    expect(slow.signal?.aborted).toBe(true);
    expect((slow.signal?.reason as PlexusError).code).toBe(Code.DeadlineExceeded);
  });

  it("does not wait for a slow part that ignores its signal", async () => {
    const clock = createFakeClock();
    const done = composeParts(
      { deaf: () => new Promise<never>(() => undefined) },
      { timeoutMs: 100, signal: new AbortController().signal, clock, logger },
    );
    await clock.advanceAsync(100);
    expect(await done).toEqual({ values: { deaf: null }, degraded: ["deaf"] });
  });

  it("abandons every part when the request is abandoned", async () => {
    const clock = createFakeClock();
    const request = new AbortController();
    const a = controllable<string>();
    const done = composeParts(
      { a: a.fetch },
      { timeoutMs: 300, signal: request.signal, clock, logger },
    );
    request.abort(new Error("client left"));
    expect(await done).toEqual({ values: { a: null }, degraded: ["a"] });
    expect(a.signal?.aborted).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
  });
});
