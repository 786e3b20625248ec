import { Code, PlexusError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import {
  backoffDelayMs,
  createRetrySchedule,
  defaultActionRetry,
  defaultCompensationRetry,
  resolveRetryPolicy,
} from "./retry-policy.ts";

const unavailable = (retryAfterMs?: string): PlexusError =>
  new PlexusError(Code.Unavailable, "x", {
    metadata: retryAfterMs === undefined ? undefined : { retryAfterMs },
  });

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

  describe("schedule", () => {
    const policy = resolveRetryPolicy(defaultActionRetry, {
      maxAttempts: 6,
      initialDelayMs: 100,
      maxDelayMs: 5_000,
    });
    const almostOne = () => 0.999_999;

    it("waits the pushback instead of a shorter or a longer backoff, then starts the backoff over", () => {
      const schedule = createRetrySchedule(policy, almostOne);
      expect(schedule.next(unavailable())).toEqual({ retry: true, delayMs: 99, source: "backoff" });
      expect(schedule.next(unavailable())).toEqual({
        retry: true,
        delayMs: 199,
        source: "backoff",
      });
      expect(schedule.next(unavailable("3000"))).toEqual({
        retry: true,
        delayMs: 3_000,
        source: "pushback",
      });
      expect(schedule.next(unavailable("0"))).toEqual({
        retry: true,
        delayMs: 0,
        source: "pushback",
      });
      expect(schedule.next(unavailable())).toEqual({ retry: true, delayMs: 99, source: "backoff" });
      expect(schedule.next(unavailable("1"))).toEqual({ retry: false, reason: "max-attempts" });
    });

    it("gives up at once on a negative or malformed pushback (do not retry)", () => {
      for (const value of ["-1", "-250", "soon"]) {
        expect(createRetrySchedule(policy, almostOne).next(unavailable(value))).toEqual({
          retry: false,
          reason: "pushback",
        });
      }
    });

    it("gives up at once on a pushback beyond maxDelayMs, honours one up to it", () => {
      expect(createRetrySchedule(policy).next(unavailable("5001"))).toEqual({
        retry: false,
        reason: "pushback-too-long",
      });
      expect(createRetrySchedule(policy).next(unavailable("5000"))).toEqual({
        retry: true,
        delayMs: 5_000,
        source: "pushback",
      });
    });

    it("caps a long pushback at maxDelayMs for compensations, which keep their tries", () => {
      const undo = resolveRetryPolicy(defaultCompensationRetry, { maxDelayMs: 5_000 });
      expect(undo.capLongPushback).toBe(true);
      expect(createRetrySchedule(undo).next(unavailable("30000"))).toEqual({
        retry: true,
        delayMs: 5_000,
        source: "pushback",
      });
      expect(createRetrySchedule(undo).next(unavailable("-1"))).toEqual({
        retry: false,
        reason: "pushback",
      });
    });

    it("never grants more than maxAttempts tries, pushback or not", () => {
      const once = resolveRetryPolicy(policy, { maxAttempts: 1 });
      expect(createRetrySchedule(once).next(unavailable("10"))).toEqual({
        retry: false,
        reason: "max-attempts",
      });
    });
  });
});
