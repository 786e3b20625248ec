import { Code, PlexusError } from "@plexus/core";
import { createFakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { composeWithFallbacks, type DegradedPartEvent } from "./compose-with-fallbacks.ts";
import type { Operation } from "./policy.ts";
import { createTimeout } from "./timeout.ts";

/** A part that answers only when the test says so, or rejects when its signal aborts. */
function controllable<T>() {
  let resolve: ((value: T) => void) | undefined;
  let seenSignal: AbortSignal | undefined;
  const fetch: Operation<T> = (signal) => {
    seenSignal = signal;
    return new Promise<T>((res, reject) => {
      resolve = res;
      signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
    });
  };
  return {
    fetch,
    resolve: (value: T) => resolve!(value),
    get started() {
      return seenSignal !== undefined;
    },
    get signal() {
      return seenSignal;
    },
  };
}

/** A part that never answers and ignores its signal. */
const deaf = (): Promise<never> => new Promise<never>(() => undefined);

const failing = (code: Code) => (): Promise<never> =>
  Promise.reject(new PlexusError(code, `${code} injected`));

function setUp(timeoutMs = 300) {
  const clock = createFakeClock();
  const policy = createTimeout({ timeoutMs, clock });
  const events: DegradedPartEvent[] = [];
  const onDegraded = (event: DegradedPartEvent): void => void events.push(event);
  return { clock, policy, events, onDegraded };
}

describe("composeWithFallbacks", () => {
  it("starts every part at once and keeps their values, none degraded", async () => {
    const { policy, events, onDegraded } = setUp();
    const a = controllable<string>();
    const b = controllable<number>();
    const done = composeWithFallbacks({ a: a.fetch, b: b.fetch }, { policy, onDegraded });
    // Both are in flight before either answers: parallel, not sequential.
    expect(a.started && b.started).toBe(true);
    b.resolve(2);
    a.resolve("one");
    expect(await done).toEqual({ values: { a: "one", b: 2 }, degraded: [] });
    expect(events).toEqual([]);
  });

  it("makes a failing part null and names it, and tells why; the others keep their values", async () => {
    const { policy, events, onDegraded } = setUp();
    const result = await composeWithFallbacks(
      {
        users: () => Promise.resolve({ id: "u1" }),
        orders: failing(Code.Unavailable),
        notifications: () => Promise.resolve([]),
      },
      { policy, onDegraded },
    );
    // The failure is never served as data: the part is null and named.
    expect(result).toEqual({
      values: { users: { id: "u1" }, orders: null, notifications: [] },
      degraded: ["orders"],
    });
    expect(events.map((e) => [e.part, e.error.code])).toEqual([["orders", Code.Unavailable]]);
  });

  it("degrades a part that throws synchronously or rejects with a non-Plexus error", async () => {
    const { policy, events, onDegraded } = setUp();
    const result = await composeWithFallbacks(
      {
        sync: () => {
          throw new Error("bug");
        },
        plain: () => Promise.reject(new TypeError("oops")),
      },
      { policy, onDegraded },
    );
    expect(result).toEqual({ values: { sync: null, plain: null }, degraded: ["sync", "plain"] });
    expect(events.every((e) => e.error instanceof PlexusError)).toBe(true);
  });

  it("gives up on a slow part at its timeout, aborting it, while the others answer", async () => {
    const { clock, policy, events, onDegraded } = setUp(300);
    const slow = controllable<string>();
    let settled = false;
    const done = composeWithFallbacks(
      { fast: () => Promise.resolve("ok"), slow: slow.fetch },
      { policy, onDegraded },
    ).finally(() => {
      settled = true;
    });
    await clock.advanceAsync(299);
    expect(settled).toBe(false);
    expect(slow.signal?.aborted).toBe(false);
    await clock.advanceAsync(1);
    expect(await done).toEqual({ values: { fast: "ok", slow: null }, degraded: ["slow"] });
    expect((slow.signal?.reason as PlexusError).code).toBe(Code.DeadlineExceeded);
    expect(events.map((e) => [e.part, e.error.code])).toEqual([["slow", Code.DeadlineExceeded]]);
  });

  it("does not wait for a slow part that ignores its signal", async () => {
    const { clock, policy, onDegraded } = setUp(100);
    const done = composeWithFallbacks(
      { deaf, ok: () => Promise.resolve(1) },
      { policy, onDegraded },
    );
    await clock.advanceAsync(100);
    expect(await done).toEqual({ values: { deaf: null, ok: 1 }, degraded: ["deaf"] });
  });

  it("names degraded parts in the order of `parts`, not in the order they failed", async () => {
    const { clock, policy, events, onDegraded } = setUp(100);
    const done = composeWithFallbacks(
      { first: deaf, second: () => Promise.resolve("ok"), third: failing(Code.Internal) },
      { policy, onDegraded },
    );
    await clock.advanceAsync(100);
    expect(await done).toEqual({
      values: { first: null, second: "ok", third: null },
      degraded: ["first", "third"],
    });
    // Told as they happen: the failure first, the timeout later.
    expect(events.map((e) => e.part)).toEqual(["third", "first"]);
  });

  it("abandons every part when the caller leaves, and rejects: no answer, no degraded parts", async () => {
    const { policy, events, onDegraded } = setUp();
    const request = new AbortController();
    const polite = controllable<string>();
    const done = composeWithFallbacks(
      { polite: polite.fetch, deaf },
      { policy, signal: request.signal, onDegraded },
    ).catch((e: unknown) => e);
    request.abort(new Error("client left"));
    // Settles at once, though `deaf` never will: nothing holds the caller.
    expect(((await done) as PlexusError).code).toBe(Code.Canceled);
    expect(polite.signal?.aborted).toBe(true);
    expect(events).toEqual([]);
  });

  it("starts no part for a caller that has already left", async () => {
    const { policy } = setUp();
    const request = new AbortController();
    request.abort();
    const part = controllable<string>();
    const error = await composeWithFallbacks(
      { part: part.fetch },
      { policy, signal: request.signal },
    ).catch((e: unknown) => e);
    expect((error as PlexusError).code).toBe(Code.Canceled);
    expect(part.started).toBe(false);
  });
});
