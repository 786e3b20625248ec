import { describe, expect, it } from "vitest";
import { createRedeliverySchedule, defaultBackoff, resolveBackoff } from "./backoff.ts";

describe("redelivery backoff", () => {
  it("grows exponentially up to the cap (upper bounds with random → 1), in whole ms", () => {
    const b = resolveBackoff({ initialMs: 100, maxMs: 1000, multiplier: 2 });
    const top = (n: number): number => b.delay(n, 0, () => 0.999999);
    expect([1, 2, 3, 4, 5, 6].map(top)).toEqual([99, 199, 399, 799, 999, 999]);
    expect(resolveBackoff(undefined).delay(3, 0, () => 0)).toBe(0); // full jitter by default
  });

  it("offers gRFC A6's jitter, with its cap of 5 deliveries", () => {
    const b = resolveBackoff({ initialMs: 100, jitter: "grpc" });
    expect(b.delay(1, 0, () => 0)).toBe(80);
    const schedule = createRedeliverySchedule(10, b, () => 0.5);
    const decisions = [1, 2, 3, 4, 5].map(() => schedule.next(undefined).retry);
    expect(decisions).toEqual([true, true, true, true, false]);
  });

  it("applies defaults and refuses nonsense", () => {
    expect(resolveBackoff(undefined)).toMatchObject(defaultBackoff);
    expect(resolveBackoff({ initialMs: 10 })).toMatchObject({ ...defaultBackoff, initialMs: 10 });
    expect(() => resolveBackoff({ initialMs: -1 })).toThrow(RangeError);
    expect(() => resolveBackoff({ initialMs: 100, maxMs: 10 })).toThrow(RangeError);
    expect(() => resolveBackoff({ multiplier: 0.5 })).toThrow(RangeError);
    expect(() => resolveBackoff({ initialMs: Number.NaN })).toThrow(RangeError);
  });

  it("honours a pushback up to maxMs and waits maxMs for a longer one: a message has no other way", () => {
    const b = resolveBackoff({ initialMs: 100, maxMs: 5_000 });
    const schedule = createRedeliverySchedule(5, b, () => 0.5);
    expect(schedule.next(2_000)).toEqual({ retry: true, delayMs: 2_000, source: "pushback" });
    expect(schedule.next(60_000)).toEqual({ retry: true, delayMs: 5_000, source: "pushback" });
    expect(schedule.next(undefined)).toEqual({ retry: true, delayMs: 50, source: "backoff" });
    expect(schedule.next(-1)).toEqual({ retry: false, reason: "pushback" });
  });
});
