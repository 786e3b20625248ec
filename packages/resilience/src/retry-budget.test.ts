import { Code, PlexusError } from "@plexus/core";
import { createFakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { constantBackoff } from "./backoff.ts";
import { createRetryPolicy } from "./retry.ts";
import { createRetryBudget } from "./retry-budget.ts";
import { execute } from "./policy.ts";

describe("retry budget: gRPC throttling (gRFC A6)", () => {
  it("starts full; a failure takes 1, a success gives tokenRatio; retries only while tokens > max/2", () => {
    const budget = createRetryBudget({ maxTokens: 10, tokenRatio: 0.1 });
    expect(budget.tokens).toBe(10);
    for (let i = 0; i < 4; i++) budget.recordFailure();
    expect(budget.tokens).toBe(6);
    expect(budget.check()).toBe("ok");
    budget.recordFailure();
    expect(budget.tokens).toBe(5); // exactly half: throttled (A6: "less than or equal")
    expect(budget.check()).toBe("throttled");
    budget.recordSuccess();
    expect(budget.tokens).toBe(5.1);
    expect(budget.check()).toBe("ok");
  });

  it("keeps exact thousandths (no floating drift) and stays within [0, maxTokens]", () => {
    const budget = createRetryBudget({ maxTokens: 3, tokenRatio: 0.1 });
    for (let i = 0; i < 10; i++) budget.recordFailure();
    expect(budget.tokens).toBe(0);
    for (let i = 0; i < 15; i++) budget.recordSuccess();
    expect(budget.tokens).toBe(1.5);
    for (let i = 0; i < 100; i++) budget.recordSuccess();
    expect(budget.tokens).toBe(3);
  });

  it("maxTokens 0 turns throttling off", () => {
    const budget = createRetryBudget({ maxTokens: 0 });
    for (let i = 0; i < 10; i++) budget.recordFailure();
    expect(budget.check()).toBe("ok");
  });
});

describe("retry budget: Envoy concurrent-retry budget", () => {
  it("allows retries up to budgetPercent of active requests, never below the minimum", () => {
    const budget = createRetryBudget({ maxTokens: 0, budgetPercent: 20, minRetryConcurrency: 3 });
    for (let i = 0; i < 3; i++) expect(budget.acquireRetry()).toBe("ok");
    expect(budget.activeRetries).toBe(3);
    expect(budget.acquireRetry()).toBe("concurrency"); // max(3, 20 % of 0)
    for (let i = 0; i < 20; i++) budget.attemptStarted();
    expect(budget.activeRequests).toBe(20);
    expect(budget.acquireRetry()).toBe("ok"); // max(3, 20 % of 20 = 4)
    budget.attemptStarted(); // 21 active: 4.2, truncated to 4 as Envoy does
    expect(budget.check()).toBe("concurrency");
    budget.releaseRetry();
    expect(budget.check()).toBe("ok");
    budget.attemptEnded();
    expect(budget.activeRequests).toBe(20);
  });

  it("budgetPercent Infinity turns the concurrency budget off, even with nothing in flight", () => {
    // Infinity × 0 active requests is NaN: it must not read as "no retry allowed".
    const budget = createRetryBudget({ maxTokens: 0, budgetPercent: Infinity });
    for (let i = 0; i < 50; i++) expect(budget.acquireRetry()).toBe("ok");
    for (let i = 0; i < 5; i++) budget.attemptStarted();
    expect(budget.check()).toBe("ok");
  });

  it("budgetPercent Infinity lets a sequential call retry (its first attempt has ended)", async () => {
    const clock = createFakeClock(0);
    const policy = createRetryPolicy({
      clock,
      budget: createRetryBudget({ budgetPercent: Infinity }),
      maxAttempts: 3,
      backoff: constantBackoff(10),
    });
    let attempts = 0;
    const call = execute(policy, async () => {
      if (++attempts < 3) throw new PlexusError(Code.Unavailable, "down");
      return "ok";
    }).catch((e: unknown) => e);
    await clock.advanceAsync(20);
    expect(await call).toBe("ok");
    expect(attempts).toBe(3);
  });
});
