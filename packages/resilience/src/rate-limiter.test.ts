import type { PlexusError } from "@plexus/core";
import { Code } from "@plexus/core";
import { createFakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { rejectionKindOf, retryAfterMsOf } from "./errors.ts";
import { createRateLimiter } from "./rate-limiter.ts";
import { execute } from "./policy.ts";

describe("rate limiter (token bucket)", () => {
  it("allows a burst, then refuses with ResourceExhausted and the time until the next token", async () => {
    const clock = createFakeClock(0);
    const limiter = createRateLimiter({ ratePerSecond: 10, burst: 3, clock });
    for (let i = 0; i < 3; i++) expect(await execute(limiter, async () => i)).toBe(i);
    const error = await execute(limiter, async () => 0).catch((e: unknown) => e);
    expect((error as PlexusError).code).toBe(Code.ResourceExhausted);
    expect(rejectionKindOf(error)).toBe("rate-limited");
    expect(retryAfterMsOf(error)).toBe(100);
  });

  it("refills continuously at the rate, up to the burst", async () => {
    const clock = createFakeClock(0);
    const limiter = createRateLimiter({ ratePerSecond: 10, burst: 2, clock });
    await execute(limiter, async () => 0);
    await execute(limiter, async () => 0);
    clock.advance(50);
    expect(limiter.tokens).toBeCloseTo(0.5);
    clock.advance(50);
    expect(await execute(limiter, async () => "ok")).toBe("ok");
    clock.advance(10_000);
    expect(limiter.tokens).toBe(2);
  });

  it("with maxWaitMs, waits for its reservation instead of failing", async () => {
    const clock = createFakeClock(0);
    const limiter = createRateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 250, clock });
    await execute(limiter, async () => 0);
    const times: number[] = [];
    const calls = [0, 1].map(() => execute(limiter, async () => times.push(clock.now())));
    const third = execute(limiter, async () => 0).catch((e: unknown) => e);
    await clock.advanceAsync(300);
    await Promise.all(calls);
    expect(times).toEqual([100, 200]);
    expect(rejectionKindOf(await third)).toBe("rate-limited"); // would wait 300 > 250
  });
});
