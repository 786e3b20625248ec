import { Code, PlexusError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import {
  backoffDelayMs,
  defaultActionRetry,
  defaultCompensationRetry,
  resolveRetryPolicy,
} from "./retry-policy.ts";

describe("retry policy", () => {
  it("draws full-jitter delays under an exponential bound, capped", () => {
    const policy = resolveRetryPolicy(defaultActionRetry, {
      initialDelayMs: 100,
      maxDelayMs: 1_000,
      multiplier: 2,
    });
    const almostOne = () => 0.999_999;
    expect([1, 2, 3, 4, 5, 10].map((n) => backoffDelayMs(policy, n, almostOne))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(backoffDelayMs(policy, 3, () => 0)).toBe(0);
    expect(backoffDelayMs(policy, 3, () => 0.5)).toBe(200);
  });

  it("retries actions on retryable codes only, compensations on anything", () => {
    const of = (code: Code) => new PlexusError(code, "x");
    expect(defaultActionRetry.isRetryable(of(Code.Unavailable))).toBe(true);
    expect(defaultActionRetry.isRetryable(of(Code.DeadlineExceeded))).toBe(true);
    expect(defaultActionRetry.isRetryable(of(Code.FailedPrecondition))).toBe(false);
    expect(defaultActionRetry.isRetryable(of(Code.Unknown))).toBe(false);
    expect(defaultCompensationRetry.isRetryable(of(Code.Unknown))).toBe(true);
  });

  it("layers options over a base and refuses nonsense", () => {
    const layered = resolveRetryPolicy(
      defaultActionRetry,
      { maxAttempts: 5 },
      { initialDelayMs: 7 },
    );
    expect(layered).toMatchObject({ maxAttempts: 5, initialDelayMs: 7, maxDelayMs: 10_000 });
    expect(() => resolveRetryPolicy(defaultActionRetry, { maxAttempts: 0 })).toThrow(RangeError);
    expect(() => resolveRetryPolicy(defaultActionRetry, { maxAttempts: 1.5 })).toThrow(RangeError);
    expect(() => resolveRetryPolicy(defaultActionRetry, { initialDelayMs: -1 })).toThrow(
      RangeError,
    );
    expect(() => resolveRetryPolicy(defaultActionRetry, { multiplier: 0.5 })).toThrow(RangeError);
  });
});
