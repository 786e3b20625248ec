import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SHUTDOWN_CHECK, createHealthRegistry } from "./health-registry.ts";

describe("createHealthRegistry", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("is ok with no checks", async () => {
    const health = createHealthRegistry();
    expect(await health.checkLive()).toEqual({ ok: true, checks: {} });
    expect(await health.checkReady()).toEqual({ ok: true, checks: {} });
  });

  it("keeps liveness and readiness apart", async () => {
    const health = createHealthRegistry();
    health.addLiveness("event-loop", () => true);
    health.addReadiness("db", () => false);
    expect(await health.checkLive()).toEqual({ ok: true, checks: { "event-loop": "ok" } });
    expect(await health.checkReady()).toEqual({ ok: false, checks: { db: "unhealthy" } });
  });

  it("treats true and undefined as ok; false, a throw and a rejection as unhealthy", async () => {
    const health = createHealthRegistry();
    health.addReadiness("true", () => true);
    health.addReadiness("void", () => undefined);
    health.addReadiness("async-true", async () => true);
    health.addReadiness("false", () => false);
    health.addReadiness("async-false", async () => false);
    health.addReadiness("throws", () => {
      throw new Error("down");
    });
    health.addReadiness("rejects", () => Promise.reject(new Error("down")));
    const report = await health.checkReady();
    expect(report).toEqual({
      ok: false,
      checks: {
        true: "ok",
        void: "ok",
        "async-true": "ok",
        false: "unhealthy",
        "async-false": "unhealthy",
        throws: "unhealthy",
        rejects: "unhealthy",
      },
    });
    expect(Object.keys(report.checks)).toEqual([
      "true",
      "void",
      "async-true",
      "false",
      "async-false",
      "throws",
      "rejects",
    ]);
  });

  it("runs checks in parallel", async () => {
    const health = createHealthRegistry({ checkTimeoutMs: 1_000 });
    let running = 0;
    let maxRunning = 0;
    for (const name of ["a", "b", "c"]) {
      health.addReadiness(name, async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 500));
        running--;
      });
    }
    const report = health.checkReady();
    // Sequential checks would need 1 500 ms; in parallel all finish at 500 ms.
    await vi.advanceTimersByTimeAsync(500);
    expect(await report).toEqual({ ok: true, checks: { a: "ok", b: "ok", c: "ok" } });
    expect(maxRunning).toBe(3);
  });

  it("bounds each check by its timeout (default 1 s) and aborts its signal", async () => {
    const health = createHealthRegistry();
    let signal: AbortSignal | undefined;
    health.addReadiness("hangs", (s) => {
      signal = s;
      return new Promise<boolean>(() => undefined);
    });
    health.addReadiness("fast", () => true);
    let settled = false;
    const report = health.checkReady().then((r) => {
      settled = true;
      return r;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await report).toEqual({ ok: false, checks: { hangs: "unhealthy", fast: "ok" } });
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as Error).name).toBe("TimeoutError");
  });

  it("takes a per-check timeout and a registry-wide default", async () => {
    const health = createHealthRegistry({ checkTimeoutMs: 50 });
    health.addLiveness(
      "slow-but-allowed",
      () => new Promise((r) => setTimeout(() => r(true), 80)),
      {
        timeoutMs: 100,
      },
    );
    health.addLiveness("slow", () => new Promise((r) => setTimeout(() => r(true), 80)));
    const report = health.checkLive();
    await vi.advanceTimersByTimeAsync(100);
    expect(await report).toEqual({
      ok: false,
      checks: { "slow-but-allowed": "ok", slow: "unhealthy" },
    });
  });

  it("gives up when the caller's signal aborts", async () => {
    const health = createHealthRegistry({ checkTimeoutMs: 60_000 });
    health.addReadiness("hangs", () => new Promise<boolean>(() => undefined));
    const controller = new AbortController();
    const report = health.checkReady(controller.signal);
    controller.abort();
    expect(await report).toEqual({ ok: false, checks: { hangs: "unhealthy" } });
    expect(await health.checkReady(AbortSignal.abort())).toEqual({
      ok: false,
      checks: { hangs: "unhealthy" },
    });
  });

  it("is not ready while stopping, and does not probe dependencies then", async () => {
    const stopping = new AbortController();
    const health = createHealthRegistry({ stopping: stopping.signal });
    const db = vi.fn(() => true);
    health.addReadiness("db", db);
    health.addLiveness("loop", () => true);
    expect(await health.checkReady()).toEqual({ ok: true, checks: { db: "ok" } });
    stopping.abort();
    expect(await health.checkReady()).toEqual({
      ok: false,
      checks: { [SHUTDOWN_CHECK]: "unhealthy" },
    });
    expect(db).toHaveBeenCalledOnce();
    // A draining process is still alive.
    expect(await health.checkLive()).toEqual({ ok: true, checks: { loop: "ok" } });
  });

  it("rejects duplicate, empty and reserved names", () => {
    const health = createHealthRegistry();
    health.addReadiness("db", () => true);
    expect(() => health.addReadiness("db", () => true)).toThrow(TypeError);
    expect(() => health.addReadiness("", () => true)).toThrow(TypeError);
    expect(() => health.addReadiness(SHUTDOWN_CHECK, () => true)).toThrow(TypeError);
    // Liveness and readiness are separate namespaces.
    expect(() => health.addLiveness("db", () => true)).not.toThrow();
  });

  it("accepts an injected clock", async () => {
    vi.useRealTimers();
    const timers: (() => void)[] = [];
    const health = createHealthRegistry({
      checkTimeoutMs: 5,
      clock: {
        now: () => 0,
        setTimeout: (cb) => timers.push(cb),
        clearTimeout: () => undefined,
      },
    });
    health.addLiveness("hangs", () => new Promise<boolean>(() => undefined));
    const report = health.checkLive();
    expect(timers).toHaveLength(1);
    timers[0]!();
    expect(await report).toEqual({ ok: false, checks: { hangs: "unhealthy" } });
  });
});
