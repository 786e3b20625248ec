import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelayMs, defaultBackoff, resolveBackoff } from "./backoff.ts";

describe("backoff", () => {
  it("grows exponentially up to the cap (upper bounds with random → 1)", () => {
    const b = resolveBackoff({ initialMs: 100, maxMs: 1000, multiplier: 2 });
    const top = (n: number): number => backoffDelayMs(n, b, () => 0.999999);
    expect([1, 2, 3, 4, 5, 6].map(top)).toEqual([99, 199, 399, 799, 999, 999]);
  });

  it("is full jitter: anywhere in [0, ceiling)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, r) => {
          const delay = backoffDelayMs(n, defaultBackoff, () => r);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(defaultBackoff.maxMs);
          expect(Number.isInteger(delay)).toBe(true);
        },
      ),
    );
    expect(backoffDelayMs(3, defaultBackoff, () => 0)).toBe(0);
  });

  it("applies defaults and refuses nonsense", () => {
    expect(resolveBackoff(undefined)).toEqual(defaultBackoff);
    expect(resolveBackoff({ initialMs: 10 })).toEqual({ ...defaultBackoff, initialMs: 10 });
    expect(() => resolveBackoff({ initialMs: -1 })).toThrow(RangeError);
    expect(() => resolveBackoff({ initialMs: 100, maxMs: 10 })).toThrow(RangeError);
    expect(() => resolveBackoff({ multiplier: 0.5 })).toThrow(RangeError);
    expect(() => resolveBackoff({ initialMs: Number.NaN })).toThrow(RangeError);
  });
});
