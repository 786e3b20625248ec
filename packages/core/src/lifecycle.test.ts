import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLifecycle, type LifecycleOptions } from "./lifecycle.ts";
import { createLogger } from "./logger.ts";

function setup(options: Partial<LifecycleOptions> = {}) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const exits: number[] = [];
  const lifecycle = createLifecycle({
    logger: createLogger({ name: "lifecycle-test", level: "debug", destination }),
    exit: (code) => exits.push(code),
    ...options,
  });
  return { lifecycle, lines, exits };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("createLifecycle", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs stop steps in reverse registration order, each awaited, then exits 0", async () => {
    const { lifecycle, exits, lines } = setup();
    const events: string[] = [];
    for (const name of ["db", "broker", "http"]) {
      lifecycle.onStop(name, async () => {
        events.push(`${name}:start`);
        await new Promise((r) => setTimeout(r, 100));
        events.push(`${name}:end`);
      });
    }
    const stopped = lifecycle.stop("test");
    await vi.advanceTimersByTimeAsync(300);
    expect(await stopped).toBe(0);
    expect(events).toEqual([
      "http:start",
      "http:end",
      "broker:start",
      "broker:end",
      "db:start",
      "db:end",
    ]);
    expect(exits).toEqual([0]);
    const stepLogs = lines.filter((l) => l["msg"] === "stopped").map((l) => l["step"]);
    expect(stepLogs).toEqual(["http", "broker", "db"]);
    expect(lines.some((l) => l["msg"] === "shutting down" && l["reason"] === "test")).toBe(true);
    expect(lines.some((l) => l["msg"] === "shutdown complete")).toBe(true);
  });

  it("exits 0 at once with no steps", async () => {
    const { lifecycle, exits } = setup();
    expect(await lifecycle.stop()).toBe(0);
    expect(exits).toEqual([0]);
  });

  it("aborts its signal and reports stopping as soon as stop begins", async () => {
    const { lifecycle } = setup();
    const seen: boolean[] = [];
    lifecycle.onStop("probe", () => {
      seen.push(lifecycle.stopping, lifecycle.signal.aborted);
    });
    expect(lifecycle.stopping).toBe(false);
    expect(lifecycle.signal.aborted).toBe(false);
    const onAbort = vi.fn();
    lifecycle.signal.addEventListener("abort", onAbort);
    await lifecycle.stop();
    expect(seen).toEqual([true, true]);
    expect(onAbort).toHaveBeenCalledOnce();
  });

  it("is idempotent: every stop returns the same promise, steps run once, exit is called once", async () => {
    const { lifecycle, exits } = setup();
    const step = vi.fn();
    lifecycle.onStop("once", step);
    const first = lifecycle.stop("a");
    const second = lifecycle.stop("b");
    expect(second).toBe(first);
    await first;
    expect(await lifecycle.stop("c")).toBe(0);
    expect(step).toHaveBeenCalledOnce();
    expect(exits).toEqual([0]);
  });

  it("refuses steps registered once stopping", async () => {
    const { lifecycle } = setup();
    await lifecycle.stop();
    expect(() => lifecycle.onStop("late", () => undefined)).toThrow(/already stopping/);
  });

  it("logs the hung step and exits 1 when the shutdown timeout passes", async () => {
    const { lifecycle, exits, lines } = setup({ shutdownTimeoutMs: 1_000 });
    const after = vi.fn();
    let stepSignal: AbortSignal | undefined;
    lifecycle.onStop("after-the-hung-one", after);
    lifecycle.onStop("consumer", (signal) => {
      stepSignal = signal;
      return new Promise<void>(() => undefined);
    });
    const stopped = lifecycle.stop();
    await vi.advanceTimersByTimeAsync(999);
    expect(exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await stopped).toBe(1);
    expect(exits).toEqual([1]);
    expect(stepSignal?.aborted).toBe(true);
    // The budget is spent: the remaining steps are not started.
    expect(after).not.toHaveBeenCalled();
    const hung = lines.find((l) => l["level"] === 50 && l["step"] === "consumer");
    expect(hung?.["msg"]).toMatch(/hung/);
  });

  it("bounds the whole shutdown, not each step: slow steps share one budget", async () => {
    const { lifecycle, exits, lines } = setup({ shutdownTimeoutMs: 1_000 });
    lifecycle.onStop("second", () => new Promise<void>((r) => setTimeout(r, 600)));
    lifecycle.onStop("first", () => new Promise<void>((r) => setTimeout(r, 600)));
    const stopped = lifecycle.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await stopped).toBe(1);
    expect(exits).toEqual([1]);
    expect(lines.find((l) => l["level"] === 50)?.["step"]).toBe("second");
  });

  it("continues past a step that overruns its own timeout, then exits 1", async () => {
    const { lifecycle, exits, lines } = setup({ shutdownTimeoutMs: 10_000 });
    const after = vi.fn();
    lifecycle.onStop("pool", after);
    lifecycle.onStop("stuck", () => new Promise<void>(() => undefined), { timeoutMs: 200 });
    const stopped = lifecycle.stop();
    await vi.advanceTimersByTimeAsync(200);
    expect(await stopped).toBe(1);
    expect(after).toHaveBeenCalledOnce();
    expect(exits).toEqual([1]);
    expect(lines.find((l) => l["level"] === 50)).toMatchObject({ step: "stuck", timeoutMs: 200 });
  });

  it("logs a failing step, runs the others, and exits 1", async () => {
    const { lifecycle, exits, lines } = setup();
    const ran: string[] = [];
    lifecycle.onStop("c", () => void ran.push("c"));
    lifecycle.onStop("b-sync-throw", () => {
      throw new Error("sync boom");
    });
    lifecycle.onStop("a-async-throw", async () => {
      await Promise.resolve();
      throw new Error("async boom");
    });
    expect(await lifecycle.stop()).toBe(1);
    expect(ran).toEqual(["c"]);
    expect(exits).toEqual([1]);
    const failed = lines.filter((l) => l["msg"] === "stop step failed").map((l) => l["step"]);
    expect(failed).toEqual(["a-async-throw", "b-sync-throw"]);
  });

  it("stops gracefully on SIGTERM and forces exit 1 on a second signal", async () => {
    const { lifecycle, exits, lines } = setup();
    const gate = deferred();
    lifecycle.onStop("drain", () => gate.promise);
    const uninstall = lifecycle.installSignalHandlers();
    try {
      // process.emit runs the handlers without delivering a real signal to the test worker.
      process.emit("SIGTERM", "SIGTERM");
      expect(lifecycle.stopping).toBe(true);
      await vi.advanceTimersByTimeAsync(0);
      expect(exits).toEqual([]);
      process.emit("SIGINT", "SIGINT");
      expect(exits).toEqual([1]);
      expect(lines.some((l) => /second signal/.test(String(l["msg"])))).toBe(true);
      gate.resolve();
      await lifecycle.stop();
      // exit is called once: the forced exit wins.
      expect(exits).toEqual([1]);
    } finally {
      uninstall();
    }
  });

  it("removes its signal handlers when uninstalled", () => {
    const { lifecycle } = setup({ signals: ["SIGUSR2"] });
    const before = process.listenerCount("SIGUSR2");
    const uninstall = lifecycle.installSignalHandlers();
    expect(process.listenerCount("SIGUSR2")).toBe(before + 1);
    uninstall();
    expect(process.listenerCount("SIGUSR2")).toBe(before);
  });
});
