import { Code, PlexusError } from "@plexus/core";
import { createFakeClock, type FakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { createCircuitBreaker, type CircuitBreakerOptions } from "./circuit-breaker.ts";
import type { StateChangeEvent } from "./circuit-state-machine.ts";
import { growingOpenWait } from "./open-wait.ts";
import { rejectionKindOf, retryAfterMsOf } from "./errors.ts";
import { execute } from "./policy.ts";

const unavailable = () => new PlexusError(Code.Unavailable, "down");

function setup(options: Omit<CircuitBreakerOptions, "clock" | "onStateChange"> = {}) {
  const clock = createFakeClock(1_000_000);
  const changes: StateChangeEvent[] = [];
  const breaker = createCircuitBreaker({
    slidingWindow: { type: "count", size: 10 },
    minimumNumberOfCalls: 10,
    openWaitMs: 5_000,
    permittedCallsInHalfOpen: 3,
    ...options,
    clock,
    onStateChange: (event) => changes.push(event),
  });
  const ok = () => execute(breaker, async () => "ok");
  const fail = (error: unknown = unavailable()) =>
    execute(breaker, async () => {
      throw error;
    }).catch((e: unknown) => e);
  return { clock, breaker, changes, ok, fail };
}

/** Runs `n` failures then `m` successes. */
async function record(t: ReturnType<typeof setup>, failures: number, successes: number) {
  for (let i = 0; i < failures; i++) await t.fail();
  for (let i = 0; i < successes; i++) await t.ok();
}

describe("circuit breaker: closed state and thresholds", () => {
  it("opens when the failure rate exactly reaches the threshold (inclusive)", async () => {
    const t = setup({ failureRateThreshold: 50 });
    await record(t, 4, 5);
    expect(t.breaker.state).toBe("closed"); // 9 calls: below the minimum
    await t.fail(); // 5 of 10 = 50 %
    expect(t.breaker.state).toBe("open");
    expect(t.changes).toEqual([{ from: "closed", to: "open" }]);
  });

  it("stays closed just below the threshold", async () => {
    const t = setup({ failureRateThreshold: 50 });
    await record(t, 4, 6); // 40 %
    expect(t.breaker.state).toBe("closed");
    expect(t.breaker.metrics()).toMatchObject({ calls: 10, failedCalls: 4, failureRate: 40 });
  });

  it("computes no rate below the minimum number of calls, however many failed", async () => {
    const t = setup({ minimumNumberOfCalls: 5, slidingWindow: { type: "count", size: 10 } });
    await record(t, 4, 0);
    expect(t.breaker.state).toBe("closed");
    expect(t.breaker.metrics().failureRate).toBe(-1);
    await t.fail();
    expect(t.breaker.state).toBe("open");
  });

  it("caps the minimum at the size of a count window (Resilience4j)", async () => {
    const t = setup({ minimumNumberOfCalls: 100, slidingWindow: { type: "count", size: 4 } });
    await record(t, 2, 1);
    expect(t.breaker.state).toBe("closed");
    await t.fail(); // 3 of 4
    expect(t.breaker.state).toBe("open");
  });

  it("slides: the oldest outcome leaves a count window", async () => {
    const t = setup({ slidingWindow: { type: "count", size: 4 }, minimumNumberOfCalls: 4 });
    await record(t, 1, 3); // 25 %
    await t.ok(); // the failure slides out
    expect(t.breaker.metrics()).toMatchObject({ calls: 4, failedCalls: 0 });
  });

  it("opens on the slow-call rate (a call is slow strictly past the duration threshold)", async () => {
    const t = setup({
      slidingWindow: { type: "count", size: 4 },
      minimumNumberOfCalls: 4,
      slowCallDurationThresholdMs: 100,
      slowCallRateThreshold: 50,
    });
    const slow = async (ms: number) => {
      const call = execute(
        t.breaker,
        () => new Promise<string>((resolve) => t.clock.setTimeout(() => resolve("late"), ms)),
      );
      t.clock.advance(ms);
      await call;
    };
    await slow(100); // exactly the threshold: not slow
    await slow(101);
    await t.ok();
    expect(t.breaker.state).toBe("closed");
    expect(t.breaker.metrics().slowCalls).toBe(1);
    await slow(150); // 2 of 4 slow = 50 %
    expect(t.breaker.state).toBe("open");
  });

  it("a time-based window forgets calls older than its size", async () => {
    const t = setup({
      slidingWindow: { type: "time", sizeMs: 10_000, bucketMs: 1_000 },
      minimumNumberOfCalls: 4,
    });
    await record(t, 3, 0);
    t.clock.advance(10_000); // the three failures slide out
    await record(t, 1, 2);
    expect(t.breaker.metrics()).toMatchObject({ calls: 3, failedCalls: 1 });
    expect(t.breaker.state).toBe("closed");
    t.clock.advance(5_000);
    await record(t, 1, 0); // 2 of 4 within 10 s
    expect(t.breaker.state).toBe("open");
  });

  it("counts callee trouble as failures, a callee's 'no' (NOT_FOUND…) as success, cancellation as neither", async () => {
    const t = setup({ slidingWindow: { type: "count", size: 10 }, minimumNumberOfCalls: 3 });
    await t.fail(new PlexusError(Code.NotFound, "no such user"));
    await t.fail(new PlexusError(Code.InvalidArgument, "bad"));
    await t.fail(new PlexusError(Code.Canceled, "caller left"));
    expect(t.breaker.metrics()).toMatchObject({ calls: 2, failedCalls: 0 });
    await t.fail(new PlexusError(Code.Internal, "boom"));
    await t.fail(new Error("unexpected"));
    expect(t.breaker.metrics()).toMatchObject({ calls: 4, failedCalls: 2 });
  });

  it("honours record/ignore predicates and failure results", async () => {
    const t = setup({
      slidingWindow: { type: "count", size: 10 },
      minimumNumberOfCalls: 2,
      isFailure: (e) => e instanceof PlexusError && e.code === Code.NotFound,
      isIgnored: (e) => e instanceof PlexusError && e.code === Code.Unavailable,
      isFailureResult: (r) => r === "bad",
    });
    await t.fail(unavailable()); // ignored
    await t.fail(new PlexusError(Code.Internal, "x")); // not a failure by this predicate
    expect(t.breaker.metrics()).toMatchObject({ calls: 1, failedCalls: 0 });
    expect(await execute(t.breaker, async () => "bad")).toBe("bad");
    expect(t.breaker.state).toBe("open");
  });
});

describe("circuit breaker: open and half-open", () => {
  async function opened(options: Parameters<typeof setup>[0] = {}) {
    const t = setup({
      slidingWindow: { type: "count", size: 2 },
      minimumNumberOfCalls: 2,
      ...options,
    });
    await record(t, 2, 0);
    expect(t.breaker.state).toBe("open");
    return t;
  }

  it("rejects at once while open, with Unavailable, a local-rejection mark and the time left", async () => {
    const t = await opened();
    let called = false;
    t.clock.advance(2_000);
    const error = await execute(t.breaker, async () => {
      called = true;
    }).catch((e: unknown) => e);
    expect(called).toBe(false);
    expect(error).toBeInstanceOf(PlexusError);
    expect((error as PlexusError).code).toBe(Code.Unavailable);
    expect(rejectionKindOf(error)).toBe("circuit-open");
    expect(retryAfterMsOf(error)).toBe(3_000);
    expect(t.breaker.metrics().notPermittedCalls).toBe(1);
  });

  it("goes half-open strictly after the wait, permits N trial calls, rejects the rest", async () => {
    const t = await opened({ permittedCallsInHalfOpen: 2 });
    t.clock.advance(5_000);
    // Exactly at the end of the wait is still open (Resilience4j: a trial only *after* it).
    const atTheEnd = await t.fail();
    expect(rejectionKindOf(atTheEnd)).toBe("circuit-open");
    expect(retryAfterMsOf(atTheEnd)).toBe(1);
    expect(t.breaker.state).toBe("open");
    t.clock.advance(1);
    const gates: (() => void)[] = [];
    const trial = () =>
      execute(t.breaker, () => new Promise<string>((resolve) => gates.push(() => resolve("ok"))));
    const a = trial();
    expect(t.breaker.state).toBe("half-open");
    const b = trial();
    expect(rejectionKindOf(await trial().catch((e: unknown) => e))).toBe("circuit-open");
    gates.forEach((open) => open());
    await Promise.all([a, b]);
    expect(t.breaker.state).toBe("closed");
    expect(t.breaker.metrics()).toMatchObject({ calls: 0 }); // fresh metrics
    expect(t.changes.map((c) => c.to)).toEqual(["open", "half-open", "closed"]);
  });

  it("decides on the trial calls only: reopens when their failure rate reaches the threshold", async () => {
    const t = await opened({ permittedCallsInHalfOpen: 4 });
    t.clock.advance(5_001);
    await record(t, 1, 2);
    expect(t.breaker.state).toBe("half-open"); // 3 of 4 done
    await t.fail(); // 2 of 4 = 50 %
    expect(t.breaker.state).toBe("open");
  });

  it("an ignored error gives its half-open permit back", async () => {
    const t = await opened({ permittedCallsInHalfOpen: 1 });
    t.clock.advance(5_001);
    await t.fail(new PlexusError(Code.Canceled, "caller left"));
    expect(t.breaker.state).toBe("half-open");
    await t.ok(); // the permit was released, so this trial is allowed
    expect(t.breaker.state).toBe("closed");
  });

  it("reopens when half-open lasts longer than its max wait", async () => {
    const t = await opened({ permittedCallsInHalfOpen: 1, maxWaitInHalfOpenMs: 1_000 });
    t.clock.advance(5_001);
    const stuck = execute(t.breaker, () => new Promise<never>(() => {}));
    void stuck;
    expect(t.breaker.state).toBe("half-open");
    t.clock.advance(1_000);
    expect(t.breaker.state).toBe("open");
  });

  it("grows the open wait with consecutive openings, and resets it once closed", async () => {
    const t = await opened({
      permittedCallsInHalfOpen: 1,
      openWaitMs: growingOpenWait({ initialMs: 1_000, multiplier: 2, maxMs: 3_000 }),
    });
    const retryAfter = async () => retryAfterMsOf(await t.fail());
    expect(await retryAfter()).toBe(1_000);
    t.clock.advance(1_001);
    await t.fail(); // the trial fails: open again, for 2 s
    expect(await retryAfter()).toBe(2_000);
    t.clock.advance(2_001);
    await t.fail();
    expect(await retryAfter()).toBe(3_000); // capped
    t.clock.advance(3_001);
    await t.ok(); // closed
    await record(t, 2, 0);
    expect(await retryAfter()).toBe(1_000);
  });

  it("moves to half-open on a timer when asked to (automaticTransitionToHalfOpen)", async () => {
    const t = await opened({ automaticTransitionToHalfOpen: true });
    t.clock.advance(5_000);
    expect(t.breaker.state).toBe("half-open");
  });

  it("ignores outcomes of calls that finish after the state changed", async () => {
    const t = setup({
      slidingWindow: { type: "count", size: 2 },
      minimumNumberOfCalls: 2,
      permittedCallsInHalfOpen: 1,
    });
    let finishLate: (value: string) => void = () => {};
    const late = execute(t.breaker, () => new Promise<string>((resolve) => (finishLate = resolve)));
    await record(t, 2, 0); // opens while `late` is in flight
    t.clock.advance(5_001);
    const trialGate: (() => void)[] = [];
    const trial = execute(
      t.breaker,
      () => new Promise<string>((_, reject) => trialGate.push(() => reject(unavailable()))),
    );
    expect(t.breaker.state).toBe("half-open");
    finishLate("ok"); // started while closed: must not close the circuit nor use the trial
    await late;
    expect(t.breaker.state).toBe("half-open");
    trialGate[0]!();
    await trial.catch(() => {});
    expect(t.breaker.state).toBe("open");
  });
});

describe("circuit breaker: special states", () => {
  it("disabled: permits everything, records nothing, never transitions", async () => {
    const t = setup({ slidingWindow: { type: "count", size: 2 }, minimumNumberOfCalls: 2 });
    t.breaker.transitionTo("disabled");
    await record(t, 5, 0);
    expect(t.breaker.state).toBe("disabled");
    expect(t.breaker.metrics().calls).toBe(0);
  });

  it("metrics-only: permits everything, records, never transitions", async () => {
    const t = setup({ slidingWindow: { type: "count", size: 2 }, minimumNumberOfCalls: 2 });
    t.breaker.transitionTo("metrics-only");
    await record(t, 5, 0);
    expect(t.breaker.state).toBe("metrics-only");
    expect(t.breaker.metrics()).toMatchObject({ calls: 2, failedCalls: 2, failureRate: 100 });
  });

  it("forced-open: rejects everything until moved back; reset closes with fresh metrics", async () => {
    const t = setup();
    t.breaker.transitionTo("forced-open");
    t.clock.advance(3_600_000);
    const error = await t.ok().catch((e: unknown) => e);
    expect(rejectionKindOf(error)).toBe("circuit-open");
    expect(retryAfterMsOf(error)).toBeUndefined();
    t.breaker.reset();
    expect(t.breaker.state).toBe("closed");
    expect(await t.ok()).toBe("ok");
    expect(t.changes.map((c) => c.to)).toEqual(["forced-open", "closed"]);
  });
});

describe("circuit breaker: fused and composed paths agree", () => {
  it("records the same outcomes through the pipeline's fused guard", async () => {
    const { createPipeline } = await import("./pipeline.ts");
    const clock: FakeClock = createFakeClock(0);
    const breaker = createCircuitBreaker({
      clock,
      slidingWindow: { type: "count", size: 2 },
      minimumNumberOfCalls: 2,
    });
    const pipeline = createPipeline({ circuitBreaker: breaker, clock });
    await execute(pipeline, async () => Promise.reject(unavailable())).catch(() => {});
    await execute(pipeline, async () => Promise.reject(unavailable())).catch(() => {});
    expect(breaker.state).toBe("open");
    const error = await execute(pipeline, async () => 1).catch((e: unknown) => e);
    expect(rejectionKindOf(error)).toBe("circuit-open");
  });
});
