import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cappedAttempts,
  constantBackoff,
  decorrelatedJitterBackoff,
  exponentialBackoff,
  grpcMaxAttempts,
  type Backoff,
} from "./backoff.ts";

const fixed = (value: number) => () => value;

/** A deterministic source in [0, 1): the same seed draws the same sequence. */
function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const parameters = fc.record({
  initialMs: fc.double({ min: 0, max: 60_000, noNaN: true }),
  maxMs: fc.double({ min: 0, max: 600_000, noNaN: true }),
  multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
});
const retry = fc.integer({ min: 1, max: 2_000 });

describe("backoff (AWS 'Exponential Backoff And Jitter', gRFC A6)", () => {
  it("full jitter: random(0, min(cap, base * multiplier^(n-1))) — A6's formula until 2024", () => {
    const backoff = exponentialBackoff({ initialMs: 100, maxMs: 1_000, multiplier: 2 });
    expect([1, 2, 3, 4, 5].map((n) => backoff(n, 0, fixed(0.5)))).toEqual([50, 100, 200, 400, 500]);
    expect(backoff(3, 0, fixed(0))).toBe(0);
    expect(backoff(10, 0, fixed(0.999_9))).toBe(999); // whole milliseconds, rounded down
    expect(backoff.maxAttempts).toBeUndefined();
  });

  it("gRPC jitter: min(cap, base * multiplier^(n-1)) * random(0.8, 1.2) — A6 as revised in 2024", () => {
    const backoff = exponentialBackoff({
      initialMs: 100,
      maxMs: 1_000,
      multiplier: 2,
      jitter: "grpc",
    });
    expect([1, 2, 3, 4, 5].map((n) => backoff(n, 0, fixed(0.5)))).toEqual([
      100, 200, 400, 800, 1_000,
    ]);
    expect(backoff(1, 0, fixed(0))).toBe(80); // never less than 0.8 × the first ceiling
    expect(backoff(9, 0, fixed(0.999_999))).toBe(1_199); // up to 1.2 × maxMs
    expect(backoff.maxAttempts).toBe(grpcMaxAttempts);
    expect(grpcMaxAttempts).toBe(5);
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
    expect(() => exponentialBackoff({ initialMs: Number.NaN })).toThrow(RangeError);
    // @ts-expect-error a jitter kind that does not exist (say, from a config file)
    expect(() => exponentialBackoff({ jitter: "fuzzy" })).toThrow(RangeError);
    expect(() => decorrelatedJitterBackoff({ baseMs: 10, maxMs: 5 })).toThrow(RangeError);
    expect(() => constantBackoff(-1)).toThrow(RangeError);
  });

  it("a zero start stays zero, however many retries (0 × Infinity was NaN)", () => {
    const backoff = exponentialBackoff({ initialMs: 0, maxMs: 1_000, multiplier: 2 });
    expect(backoff(5_000, 0, fixed(0.5))).toBe(0);
  });

  it("caps attempts only when the backoff carries a cap", () => {
    expect(cappedAttempts(8, exponentialBackoff({ jitter: "grpc" }))).toBe(5);
    expect(cappedAttempts(3, exponentialBackoff({ jitter: "grpc" }))).toBe(3);
    expect(cappedAttempts(8, exponentialBackoff())).toBe(8);
  });
});

describe("backoff properties", () => {
  const upperBound = { full: 1, equal: 1, none: 1, grpc: 1.2 } as const;
  const lowerShare = { full: 0, equal: 0.5, none: 1, grpc: 0.8 } as const;

  for (const jitter of ["full", "grpc", "equal", "none"] as const) {
    it(`${jitter}: whole ms, never negative, never above ${upperBound[jitter]} × maxMs, never below ${lowerShare[jitter]} × the ceiling`, () => {
      fc.assert(
        fc.property(parameters, retry, unit, (options, n, r) => {
          const delay = exponentialBackoff({ ...options, jitter })(n, 0, () => r);
          // 0 × Infinity (a zero start, many retries) is NaN; the ceiling is 0 then.
          const ceiling =
            Math.min(options.maxMs, options.initialMs * options.multiplier ** (n - 1)) || 0;
          expect(Number.isSafeInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(options.maxMs * upperBound[jitter]);
          expect(delay).toBeGreaterThan(ceiling * lowerShare[jitter] - 1);
        }),
      );
    });

    it(`${jitter}: the cap is monotone — for one random draw, a later retry never waits less`, () => {
      fc.assert(
        fc.property(parameters, retry, unit, (options, n, r) => {
          const backoff = exponentialBackoff({ ...options, jitter });
          expect(backoff(n + 1, 0, () => r)).toBeGreaterThanOrEqual(backoff(n, 0, () => r));
        }),
      );
    });
  }

  it("is deterministic under an injected random: the same draws give the same delays", () => {
    const backoffs: Backoff[] = [
      exponentialBackoff(),
      exponentialBackoff({ jitter: "grpc" }),
      exponentialBackoff({ jitter: "equal" }),
      decorrelatedJitterBackoff(),
    ];
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 30 }), (seed, retries) => {
        for (const backoff of backoffs) {
          const run = (random: () => number): number[] => {
            const delays: number[] = [];
            let previous = 0;
            for (let n = 1; n <= retries; n++)
              delays.push((previous = backoff(n, previous, random)));
            return delays;
          };
          expect(run(seeded(seed))).toEqual(run(seeded(seed)));
        }
      }),
    );
  });

  it("decorrelated jitter stays within [base, cap]", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        fc.double({ min: 0, max: 100_000, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        unit,
        (base, extra, previous, r) => {
          const maxMs = base + extra;
          const delay = decorrelatedJitterBackoff({ baseMs: base, maxMs })(2, previous, () => r);
          expect(delay).toBeGreaterThanOrEqual(base);
          expect(delay).toBeLessThanOrEqual(maxMs);
        },
      ),
    );
  });
});
