import { Code, PlexusError, retryAfterMsOf } from "@plexus/core";
import { describe, expect, it } from "vitest";
import {
  defaultActionRetry,
  defaultCompensationRetry,
  resolveRetryPolicy,
  scheduleRetries,
  type RetryPolicy,
} from "./retry-policy.ts";

const unavailable = (retryAfterMs?: string): PlexusError =>
  new PlexusError(Code.Unavailable, "x", {
    metadata: retryAfterMs === undefined ? undefined : { retryAfterMs },
  });

/** What the execution does with a failed try: the schedule reads the error's pushback. */
const decide = (policy: RetryPolicy, error: PlexusError, random: () => number = Math.random) =>
  scheduleRetries(policy, random).next(retryAfterMsOf(error));

describe("retry policy", () => {
  it("draws full-jitter delays under an exponential bound, capped (resilience's backoff)", () => {
    const policy = resolveRetryPolicy(defaultActionRetry, {
      initialDelayMs: 100,
      maxDelayMs: 1_000,
      multiplier: 2,
    });
    const half = () => 0.5;
    expect([1, 2, 3, 4, 5, 10].map((n) => policy.backoff(n, 0, half))).toEqual([
      50, 100, 200, 400, 500, 500,
    ]);
    expect(policy.backoff(3, 0, () => 0)).toBe(0);
    expect(defaultActionRetry.backoff(1, 0, () => 0.5)).toBe(50); // 100 ms, full jitter
    expect(defaultCompensationRetry.backoff(20, 0, () => 0.5)).toBe(5_000); // capped at 10 s
  });

  it("offers gRFC A6's backoff per policy: bound × random(0.8, 1.2), at most 5 tries", () => {
    const policy = resolveRetryPolicy(defaultCompensationRetry, { maxAttempts: 8, jitter: "grpc" });
    expect(policy.backoff(1, 0, () => 0)).toBe(80);
    expect(policy.backoff(20, 0, () => 0.5)).toBe(10_000);
    const schedule = scheduleRetries(policy, () => 0.5);
    const tries = [1, 2, 3, 4, 5].map(() => schedule.next(undefined));
    expect(tries.map((d) => d.retry)).toEqual([true, true, true, true, false]);
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
    expect(layered.backoff(1, 0, () => 0.5)).toBe(3); // whole ms, rounded down
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
    const half = () => 0.5;

    it("waits the pushback instead of a shorter or a longer backoff, then starts the backoff over", () => {
      const schedule = scheduleRetries(policy, half);
      const next = (error: PlexusError) => schedule.next(retryAfterMsOf(error));
      expect(next(unavailable())).toEqual({ retry: true, delayMs: 50, source: "backoff" });
      expect(next(unavailable())).toEqual({ retry: true, delayMs: 100, source: "backoff" });
      expect(next(unavailable("3000"))).toEqual({
        retry: true,
        delayMs: 3_000,
        source: "pushback",
      });
      expect(next(unavailable("0"))).toEqual({ retry: true, delayMs: 0, source: "pushback" });
      expect(next(unavailable())).toEqual({ retry: true, delayMs: 50, source: "backoff" });
      expect(next(unavailable("1"))).toEqual({ retry: false, reason: "max-attempts" });
    });

    it("gives up at once on a negative or malformed pushback (do not retry)", () => {
      for (const value of ["-1", "-250", "soon"]) {
        expect(decide(policy, unavailable(value), half)).toEqual({
          retry: false,
          reason: "pushback",
        });
      }
    });

    it("gives up at once on a pushback beyond maxDelayMs, honours one up to it", () => {
      expect(decide(policy, unavailable("5001"))).toEqual({
        retry: false,
        reason: "pushback-too-long",
      });
      expect(decide(policy, unavailable("5000"))).toEqual({
        retry: true,
        delayMs: 5_000,
        source: "pushback",
      });
    });

    it("caps a long pushback at maxDelayMs for compensations, which keep their tries", () => {
      const undo = resolveRetryPolicy(defaultCompensationRetry, { maxDelayMs: 5_000 });
      expect(undo.capLongPushback).toBe(true);
      expect(decide(undo, unavailable("30000"))).toEqual({
        retry: true,
        delayMs: 5_000,
        source: "pushback",
      });
      expect(decide(undo, unavailable("-1"))).toEqual({ retry: false, reason: "pushback" });
    });

    it("never grants more than maxAttempts tries, pushback or not", () => {
      const once = resolveRetryPolicy(policy, { maxAttempts: 1 });
      expect(decide(once, unavailable("10"))).toEqual({ retry: false, reason: "max-attempts" });
    });
  });
});
