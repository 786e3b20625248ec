import { Code, PlexusError } from "@plexus/core";
import { createFakeClock, type FakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { constantBackoff } from "./backoff.ts";
import { createBulkhead } from "./bulkhead.ts";
import { createCircuitBreaker } from "./circuit-breaker.ts";
import { rejectionKindOf } from "./errors.ts";
import { createHedgingPolicy } from "./hedging.ts";
import { createPipeline } from "./pipeline.ts";
import { execute, type PolicyContext } from "./policy.ts";
import { createRetryPolicy, type RetryEvent } from "./retry.ts";
import { createRetryBudget } from "./retry-budget.ts";
import { createTimeout } from "./timeout.ts";

/**
 * Every scenario runs twice: with the built-in per-attempt policies fused into one layer (the
 * pipeline knows their clock) and composed one by one. Both must behave the same.
 */
describe.each([
  ["fused", true],
  ["composed", false],
])("pipeline (%s)", (_name, fused) => {
  function setup(clock: FakeClock, breakerWindow = 4) {
    const retries: RetryEvent[] = [];
    const budget = createRetryBudget({ maxTokens: 100 });
    const breaker = createCircuitBreaker({
      clock,
      slidingWindow: { type: "count", size: breakerWindow },
      minimumNumberOfCalls: breakerWindow,
      openWaitMs: 10_000,
    });
    const bulkhead = createBulkhead({ maxConcurrent: 1, clock });
    const pipeline = createPipeline({
      deadline: createTimeout({ timeoutMs: Infinity, clock }),
      retry: createRetryPolicy({
        clock,
        maxAttempts: 3,
        backoff: constantBackoff(100),
        budget,
        onRetry: (e) => retries.push(e),
      }),
      bulkhead,
      circuitBreaker: breaker,
      timeout: createTimeout({ timeoutMs: 50, clock }),
      clock: fused ? clock : undefined,
    });
    return { pipeline, breaker, bulkhead, retries, budget };
  }

  it("cuts a slow attempt at the per-try timeout, counts it as a breaker failure and retries it", async () => {
    const clock = createFakeClock(0);
    const t = setup(clock, 10);
    const seen: PolicyContext[] = [];
    const outcome = execute(
      t.pipeline,
      (signal, context) => {
        seen.push(context);
        if (context.attempt === 1) return new Promise<never>(() => {}); // hangs
        return Promise.resolve("second try");
      },
      { deadline: 10_000 },
    );
    await clock.advanceAsync(1_000);
    expect(await outcome).toBe("second try");
    expect(seen.map((c) => [c.attempt, c.deadline])).toEqual([
      [1, 50],
      [2, 200], // 50 (timeout) + 100 (backoff) + 50
    ]);
    expect(seen[0]!.signal.aborted).toBe(true);
    expect(t.breaker.metrics()).toMatchObject({ calls: 2, failedCalls: 1 });
  });

  it("an open circuit ends the retry loop: the retry is refused without calling the callee", async () => {
    const clock = createFakeClock(0);
    const t = setup(clock, 1);
    let attempts = 0;
    const outcome = execute(t.pipeline, async () => {
      attempts++;
      throw new PlexusError(Code.Unavailable, "down");
    }).catch((e: unknown) => e);
    await clock.advanceAsync(100); // the first failure opened the circuit; the retry hits it
    const error = await outcome;
    expect(attempts).toBe(1);
    expect(t.breaker.state).toBe("open");
    expect(rejectionKindOf(error)).toBe("circuit-open");
    expect(t.retries).toHaveLength(1);
  });

  it("holds a bulkhead slot only while an attempt runs, never during backoff", async () => {
    const clock = createFakeClock(0);
    const t = setup(clock, 10);
    let first = true;
    const outcome = execute(t.pipeline, async () => {
      if (first) {
        first = false;
        throw new PlexusError(Code.Unavailable, "down");
      }
      return "ok";
    });
    await clock.advanceAsync(10);
    expect(t.bulkhead.active).toBe(0); // in backoff
    expect(await execute(t.pipeline, async () => "other")).toBe("other"); // the slot is free
    await clock.advanceAsync(100);
    expect(await outcome).toBe("ok");
  });

  it("starts no attempt after the overall deadline", async () => {
    const clock = createFakeClock(0);
    const t = setup(clock, 10);
    let attempts = 0;
    const outcome = execute(
      t.pipeline,
      async () => {
        attempts++;
        throw new PlexusError(Code.Unavailable, "down");
      },
      { deadline: 150 },
    ).catch((e: unknown) => e);
    await clock.advanceAsync(1_000);
    expect(attempts).toBe(2); // at 0 and 100; the next would start at 200
    expect(((await outcome) as PlexusError).code).toBe(Code.Unavailable);
  });

  it("a deadline that passes during backoff fails the call with DeadlineExceeded", async () => {
    const clock = createFakeClock(0);
    const t = setup(clock, 10);
    const outcome = execute(
      t.pipeline,
      async (_signal, context) => {
        if (context.attempt === 1) throw new PlexusError(Code.Unavailable, "down");
        return new Promise<never>(() => {});
      },
      { deadline: 120 },
    ).catch((e: unknown) => e);
    await clock.advanceAsync(1_000);
    expect(((await outcome) as PlexusError).code).toBe(Code.DeadlineExceeded);
  });
});

describe("pipeline: composition rules", () => {
  it("refuses retry and hedging together, and an empty pipeline", () => {
    expect(() =>
      createPipeline({
        retry: createRetryPolicy(),
        hedging: createHedgingPolicy({ delayMs: 10 }),
      }),
    ).toThrow(TypeError);
    expect(() => createPipeline({})).toThrow(TypeError);
  });
});
