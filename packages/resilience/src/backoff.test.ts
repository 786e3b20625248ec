import { describe, expect, it } from "vitest";
import { constantBackoff, decorrelatedJitterBackoff, exponentialBackoff } from "./backoff.ts";

const fixed = (value: number) => () => value;

describe("backoff (AWS 'Exponential Backoff And Jitter', gRFC A6)", () => {
  it("full jitter: random(0, min(cap, base * multiplier^(n-1))) — A6's formula", () => {
    const backoff = exponentialBackoff({ initialMs: 100, maxMs: 1_000, multiplier: 2 });
    expect([1, 2, 3, 4, 5].map((n) => backoff(n, 0, fixed(0.5)))).toEqual([50, 100, 200, 400, 500]);
    expect(backoff(3, 0, fixed(0))).toBe(0);
    expect(backoff(10, 0, fixed(0.999))).toBeCloseTo(999, 6);
  });

  it("equal jitter: ceiling/2 + random(0, ceiling/2)", () => {
    const backoff = exponentialBackoff({ initialMs: 100, maxMs: 1_000, jitter: "equal" });
    expect(backoff(1, 0, fixed(0))).toBe(50);
    expect(backoff(3, 0, fixed(0.5))).toBe(300);
    expect(backoff(9, 0, fixed(0))).toBe(500);
  });

  it("no jitter: the ceiling", () => {
    const backoff = exponentialBackoff({
      initialMs: 10,
      multiplier: 3,
      maxMs: 100,
      jitter: "none",
    });
    expect([1, 2, 3, 4].map((n) => backoff(n, 0, fixed(0.7)))).toEqual([10, 30, 90, 100]);
  });

  it("decorrelated jitter: min(cap, random(base, previous * 3)), starting from base", () => {
    const backoff = decorrelatedJitterBackoff({ baseMs: 100, maxMs: 1_000 });
    expect(backoff(1, 0, fixed(0))).toBe(100);
    expect(backoff(1, 0, fixed(1))).toBe(300); // random(100, 300)
    expect(backoff(2, 300, fixed(0.5))).toBe(500); // random(100, 900)
    expect(backoff(3, 900, fixed(1))).toBe(1_000); // capped
  });

  it("constant", () => {
    expect(constantBackoff(25)(7, 0, Math.random)).toBe(25);
  });

  it("rejects nonsense parameters", () => {
    expect(() => exponentialBackoff({ multiplier: 0.5 })).toThrow(RangeError);
    expect(() => decorrelatedJitterBackoff({ baseMs: 10, maxMs: 5 })).toThrow(RangeError);
    expect(() => constantBackoff(-1)).toThrow(RangeError);
  });
});
