import {
  createHealthRegistry,
  createLifecycle,
  createLogger,
  sleep,
  type Clock,
} from "@plexus/core";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createFakeClock } from "./fake-clock.ts";

describe("createFakeClock", () => {
  it("starts at the given time (default 0) and moves only when advanced", () => {
    expect(createFakeClock().now()).toBe(0);
    const clock = createFakeClock(1_700_000_000_000);
    expect(clock.now()).toBe(1_700_000_000_000);
    clock.advance(250);
    expect(clock.now()).toBe(1_700_000_000_250);
  });

  it("fires due timers in due-time order, ties in creation order, each at its own time", () => {
    const clock = createFakeClock(1_000);
    const fired: [string, number][] = [];
    const at = (name: string) => () => fired.push([name, clock.now()]);
    clock.setTimeout(at("c"), 300);
    clock.setTimeout(at("a"), 100);
    clock.setTimeout(at("b1"), 200);
    clock.setTimeout(at("b2"), 200);
    clock.setTimeout(at("late"), 1_000);
    clock.advance(300);
    expect(fired).toEqual([
      ["a", 1_100],
      ["b1", 1_200],
      ["b2", 1_200],
      ["c", 1_300],
    ]);
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(699);
    expect(fired).toHaveLength(4);
    clock.advance(1);
    expect(fired.at(-1)).toEqual(["late", 2_000]);
  });

  it("fires timers that callbacks set, when they fall within the same advance", () => {
    const clock = createFakeClock();
    const fired: number[] = [];
    const tick = (): void => {
      fired.push(clock.now());
      clock.setTimeout(tick, 100);
    };
    clock.setTimeout(tick, 100);
    clock.advance(350);
    expect(fired).toEqual([100, 200, 300]);
    expect(clock.now()).toBe(350);
  });

  it("fires zero and negative delays on the next advance, even advance(0)", () => {
    const clock = createFakeClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push("zero"), 0);
    clock.setTimeout(() => fired.push("negative"), -5);
    expect(fired).toEqual([]);
    clock.advance(0);
    expect(fired).toEqual(["zero", "negative"]);
  });

  it("clearTimeout cancels, and ignores foreign or stale handles", () => {
    const clock = createFakeClock();
    const fired: string[] = [];
    const handle = clock.setTimeout(() => fired.push("cancelled"), 10);
    clock.setTimeout(() => fired.push("kept"), 10);
    clock.clearTimeout(handle);
    clock.clearTimeout(handle);
    clock.clearTimeout(undefined);
    clock.clearTimeout(2);
    clock.advance(10);
    expect(fired).toEqual(["kept"]);
  });

  it("rejects going backwards", () => {
    const clock = createFakeClock();
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(NaN)).toThrow(RangeError);
  });

  it("drives core's sleep", async () => {
    const clock = createFakeClock();
    let done = false;
    const slept = sleep(1_000, undefined, clock).then(() => (done = true));
    clock.advance(999);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await slept;
    expect(done).toBe(true);
  });

  it("advanceAsync sees timers set after awaits in a loop", async () => {
    const clock: Clock & ReturnType<typeof createFakeClock> = createFakeClock();
    const ticks: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(100, undefined, clock);
        ticks.push(clock.now());
      }
    })();
    await clock.advanceAsync(300);
    await loop;
    expect(ticks).toEqual([100, 200, 300]);
  });

  it("bounds core's health checks and lifecycle steps", async () => {
    const clock = createFakeClock();
    const health = createHealthRegistry({ clock, checkTimeoutMs: 500 });
    health.addReadiness("hangs", () => new Promise<boolean>(() => undefined));
    const report = health.checkReady();
    await clock.advanceAsync(500);
    expect(await report).toEqual({ ok: false, checks: { hangs: "unhealthy" } });

    const exits: number[] = [];
    const lifecycle = createLifecycle({
      logger: createLogger({
        name: "t",
        destination: new Writable({ write: (_c, _e, cb) => cb() }),
      }),
      clock,
      shutdownTimeoutMs: 2_000,
      exit: (code) => exits.push(code),
    });
    lifecycle.onStop("hangs", () => new Promise<void>(() => undefined));
    const stopped = lifecycle.stop();
    await clock.advanceAsync(1_999);
    expect(exits).toEqual([]);
    await clock.advanceAsync(1);
    expect(await stopped).toBe(1);
    expect(exits).toEqual([1]);
  });
});
