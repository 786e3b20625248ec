import { Code, PlexusError } from "@plexus/core";
import { createFakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { constantBackoff, exponentialBackoff } from "./backoff.ts";
import { rejection, retryAfterKey } from "./errors.ts";
import {
  createRetryPolicy,
  type GiveUpEvent,
  type RetryEvent,
  type RetryOptions,
} from "./retry.ts";
import { createRetryBudget } from "./retry-budget.ts";
import { execute, type Operation } from "./policy.ts";

type Step = unknown; // an Error to throw, anything else to return

function scripted(steps: Step[]) {
  const calls: { at: number; attempt: number; signal: AbortSignal }[] = [];
  let index = 0;
  return {
    calls,
    fn(clock: { now(): number }) {
      return async (signal: AbortSignal, context: { attempt: number }) => {
        calls.push({ at: clock.now(), attempt: context.attempt, signal });
        const step = steps[Math.min(index++, steps.length - 1)];
        if (step instanceof Error) throw step;
        return step;
      };
    },
  };
}

const error = (code: Code, metadata?: Record<string, string>) =>
  new PlexusError(code, "x", { metadata });

function setup(options: Omit<RetryOptions, "clock" | "onRetry" | "onGiveUp"> = {}) {
  const clock = createFakeClock(0);
  const retries: RetryEvent[] = [];
  const giveUps: GiveUpEvent[] = [];
  const policy = createRetryPolicy({
    random: () => 0.5,
    ...options,
    clock,
    onRetry: (e) => retries.push(e),
    onGiveUp: (e) => giveUps.push(e),
  });
  /** Runs to completion, advancing fake time as the policy sleeps. */
  async function run<T>(fn: Operation<T>, deadline?: number) {
    const outcome = execute(policy, fn, { deadline }).then(
      (value) => ({ value }),
      (e: unknown) => ({ error: e }),
    );
    await clock.advanceAsync(120_000);
    return outcome;
  }
  return { clock, policy, retries, giveUps, run };
}

describe("retry: what is retried", () => {
  it("counts the first call in maxAttempts and returns the last failure when they run out", async () => {
    const t = setup({ maxAttempts: 3 });
    const s = scripted([error(Code.Unavailable), error(Code.Unavailable), error(Code.Unavailable)]);
    const outcome = await t.run(s.fn(t.clock));
    expect(s.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect((outcome as { error: PlexusError }).error.code).toBe(Code.Unavailable);
    expect(t.giveUps).toEqual([expect.objectContaining({ reason: "max-attempts", attempts: 3 })]);
  });

  it("retries UNAVAILABLE, RESOURCE_EXHAUSTED and DEADLINE_EXCEEDED until a success", async () => {
    const t = setup({ maxAttempts: 4 });
    const s = scripted([
      error(Code.Unavailable),
      error(Code.ResourceExhausted),
      error(Code.DeadlineExceeded),
      "done",
    ]);
    expect(await t.run(s.fn(t.clock))).toEqual({ value: "done" });
    expect(s.calls).toHaveLength(4);
  });

  it.each([
    Code.InvalidArgument,
    Code.NotFound,
    Code.AlreadyExists,
    Code.PermissionDenied,
    Code.FailedPrecondition,
    Code.Unauthenticated,
    Code.Internal,
    Code.Unknown,
    Code.Canceled,
  ])("never retries code %i", async (code) => {
    const t = setup();
    const s = scripted([error(code), "never"]);
    const outcome = await t.run(s.fn(t.clock));
    expect(s.calls).toHaveLength(1);
    expect((outcome as { error: PlexusError }).error.code).toBe(code);
  });

  it("never retries this process's own policy rejections (an open circuit, a full bulkhead)", async () => {
    const t = setup();
    const s = scripted([rejection("circuit-open", "open", 1_000), "never"]);
    await t.run(s.fn(t.clock));
    expect(s.calls).toHaveLength(1);
  });

  it("retries on a result when asked to, and returns the last result when attempts run out", async () => {
    const t = setup({ maxAttempts: 2, retryOnResult: (r) => r === 503 });
    const s = scripted([503, 503]);
    expect(await t.run(s.fn(t.clock))).toEqual({ value: 503 });
    expect(s.calls).toHaveLength(2);
  });
});

describe("retry: backoff and pushback", () => {
  it("waits the backoff before each retry (full jitter by default)", async () => {
    const t = setup({
      maxAttempts: 4,
      backoff: exponentialBackoff({ initialMs: 100, maxMs: 250 }),
    });
    const s = scripted([
      error(Code.Unavailable),
      error(Code.Unavailable),
      error(Code.Unavailable),
      "ok",
    ]);
    await t.run(s.fn(t.clock));
    expect(s.calls.map((c) => c.at)).toEqual([0, 50, 150, 275]); // 0.5 * 100, 200, 250
    expect(t.retries.map((r) => [r.attempt, r.delayMs, r.delaySource])).toEqual([
      [2, 50, "backoff"],
      [3, 100, "backoff"],
      [4, 125, "backoff"],
    ]);
  });

  it("gRFC A6 (2024): waits ceiling * random(0.8, 1.2) and caps maxAttempts at 5", async () => {
    const t = setup({
      maxAttempts: 8,
      random: () => 0.5, // the middle of [0.8, 1.2): exactly the ceiling
      backoff: exponentialBackoff({ initialMs: 100, maxMs: 500, jitter: "grpc" }),
    });
    const s = scripted([error(Code.Unavailable)]);
    const outcome = await t.run(s.fn(t.clock));
    expect(outcome).toEqual({ error: expect.any(PlexusError) });
    expect(s.calls.map((c) => c.at)).toEqual([0, 100, 300, 700, 1_200]);
    expect(t.giveUps).toEqual([expect.objectContaining({ reason: "max-attempts", attempts: 5 })]);
  });

  it("a pushback overrides the backoff, and the backoff restarts from its initial value after it", async () => {
    const t = setup({
      maxAttempts: 4,
      backoff: exponentialBackoff({ initialMs: 100, maxMs: 10_000 }),
    });
    const s = scripted([
      error(Code.Unavailable),
      error(Code.Unavailable, { [retryAfterKey]: "3000" }),
      error(Code.Unavailable),
      "ok",
    ]);
    await t.run(s.fn(t.clock));
    // 50 (backoff #1), then 3000 (pushback), then 50 again (backoff reset to #1, gRFC A6)
    expect(s.calls.map((c) => c.at)).toEqual([0, 50, 3_050, 3_100]);
    expect(t.retries[1]).toMatchObject({ delayMs: 3_000, delaySource: "pushback" });
  });

  it("a negative or unparseable pushback means: do not retry", async () => {
    for (const value of ["-1", "soon", "007"]) {
      const t = setup();
      const s = scripted([error(Code.Unavailable, { [retryAfterKey]: value }), "never"]);
      await t.run(s.fn(t.clock));
      expect(s.calls).toHaveLength(1);
      expect(t.giveUps[0]?.reason).toBe("pushback");
    }
  });

  it("returns at once rather than honouring a pushback longer than maxRetryAfterMs", async () => {
    const t = setup({ maxRetryAfterMs: 1_000 });
    const s = scripted([error(Code.ResourceExhausted, { [retryAfterKey]: "60000" }), "never"]);
    await t.run(s.fn(t.clock));
    expect(s.calls).toHaveLength(1);
    expect(t.giveUps[0]?.reason).toBe("pushback-too-long");
  });

  it("uses a pushback given for a retried result", async () => {
    const t = setup({ retryOnResult: (r) => r === 429, retryAfterOfResult: () => 700 });
    const s = scripted([429, "ok"]);
    await t.run(s.fn(t.clock));
    expect(s.calls.map((c) => c.at)).toEqual([0, 700]);
  });
});

describe("retry: deadline and cancellation", () => {
  it("starts no attempt after the deadline: a backoff ending past it returns the failure at once", async () => {
    const t = setup({ maxAttempts: 5, backoff: constantBackoff(400) });
    const s = scripted([error(Code.Unavailable)]);
    const outcome = await t.run(s.fn(t.clock), 1_000);
    expect(s.calls.map((c) => c.at)).toEqual([0, 400, 800]); // 1 200 would be past 1 000
    expect((outcome as { error: PlexusError }).error.code).toBe(Code.Unavailable);
    expect(t.giveUps[0]?.reason).toBe("deadline");
  });

  it("stops during a backoff when the caller cancels", async () => {
    const clock = createFakeClock(0);
    const policy = createRetryPolicy({ clock, backoff: constantBackoff(1_000) });
    const controller = new AbortController();
    const s = scripted([error(Code.Unavailable), "never"]);
    const outcome = execute(policy, s.fn(clock), controller.signal).catch((e: unknown) => e);
    await clock.advanceAsync(500);
    controller.abort(new PlexusError(Code.Canceled, "caller left"));
    expect(((await outcome) as PlexusError).code).toBe(Code.Canceled);
    expect(s.calls).toHaveLength(1);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe("retry: budget", () => {
  it("stops retrying when the token bucket is at half or below, and counts only qualified failures", async () => {
    const budget = createRetryBudget({ maxTokens: 4, tokenRatio: 0.5 });
    const t = setup({ maxAttempts: 10, budget, backoff: constantBackoff(0) });
    const s = scripted([error(Code.Unavailable)]);
    await t.run(s.fn(t.clock));
    // 4 → 3 (retry) → 2 (= half: throttled)
    expect(s.calls).toHaveLength(2);
    expect(t.giveUps[0]?.reason).toBe("throttled");
    expect(budget.tokens).toBe(2);
    await t.run(scripted([error(Code.InvalidArgument)]).fn(t.clock));
    expect(budget.tokens).toBe(2); // a caller's mistake takes no token
    await t.run(scripted(["ok"]).fn(t.clock));
    expect(budget.tokens).toBe(2.5);
  });

  it("counts every retry against the budget: retries in flight stay within the concurrency share", async () => {
    const budget = createRetryBudget({ maxTokens: 0, budgetPercent: 0, minRetryConcurrency: 2 });
    const clock = createFakeClock(0);
    const policy = createRetryPolicy({
      clock,
      budget,
      maxAttempts: 3,
      backoff: constantBackoff(10),
    });
    let inFlightRetries = 0;
    let maxInFlightRetries = 0;
    const gates: (() => void)[] = [];
    const fn = async (_signal: AbortSignal, context: { attempt: number }) => {
      if (context.attempt === 1) throw error(Code.Unavailable);
      inFlightRetries++;
      maxInFlightRetries = Math.max(maxInFlightRetries, inFlightRetries);
      await new Promise<void>((resolve) => gates.push(resolve));
      inFlightRetries--;
      return "ok";
    };
    const calls = Array.from({ length: 5 }, () => execute(policy, fn).catch((e: unknown) => e));
    await clock.advanceAsync(10);
    expect(maxInFlightRetries).toBe(2);
    gates.forEach((open) => open());
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(2);
    expect(outcomes.filter((o) => o instanceof PlexusError)).toHaveLength(3);
  });
});
