import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decorrelatedJitterBackoff, exponentialBackoff } from "./backoff.ts";
import { createRetrySchedule, type RetryScheduleOptions } from "./retry-schedule.ts";

const half = () => 0.5;
const schedule = (options: Partial<RetryScheduleOptions> = {}) =>
  createRetrySchedule({
    maxAttempts: 6,
    backoff: exponentialBackoff({ initialMs: 100, maxMs: 5_000 }),
    maxRetryAfterMs: 5_000,
    random: half,
    ...options,
  });

describe("retry schedule: the one retry decision (gRFC A6)", () => {
  it("waits the pushback instead of a shorter or a longer backoff, then starts the backoff over", () => {
    const s = schedule();
    expect(s.next(undefined)).toEqual({ retry: true, delayMs: 50, source: "backoff" });
    expect(s.next(undefined)).toEqual({ retry: true, delayMs: 100, source: "backoff" });
    expect(s.next(3_000)).toEqual({ retry: true, delayMs: 3_000, source: "pushback" });
    expect(s.next(0)).toEqual({ retry: true, delayMs: 0, source: "pushback" });
    expect(s.next(undefined)).toEqual({ retry: true, delayMs: 50, source: "backoff" });
    expect(s.next(1)).toEqual({ retry: false, reason: "max-attempts" });
  });

  it("gives up at once on a negative pushback (do not retry), attempts left or not", () => {
    for (const pushback of [-1, -250]) {
      expect(schedule().next(pushback)).toEqual({ retry: false, reason: "pushback" });
    }
    expect(schedule({ maxAttempts: 1 }).next(-1)).toEqual({ retry: false, reason: "pushback" });
  });

  it("gives up at once on a pushback beyond maxRetryAfterMs, honours one up to it", () => {
    expect(schedule().next(5_001)).toEqual({ retry: false, reason: "pushback-too-long" });
    expect(schedule().next(5_000)).toEqual({ retry: true, delayMs: 5_000, source: "pushback" });
  });

  it("with longPushback 'cap', waits maxRetryAfterMs instead, and still stops on 'do not retry'", () => {
    const capped = () => schedule({ longPushback: "cap" });
    expect(capped().next(30_000)).toEqual({ retry: true, delayMs: 5_000, source: "pushback" });
    expect(capped().next(-1)).toEqual({ retry: false, reason: "pushback" });
  });

  it("never grants more than maxAttempts tries, pushback or not", () => {
    expect(schedule({ maxAttempts: 1 }).next(10)).toEqual({ retry: false, reason: "max-attempts" });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: undefined }), {
          minLength: 25,
          maxLength: 25,
        }),
        (maxAttempts, pushbacks) => {
          const s = schedule({ maxAttempts, longPushback: "cap" });
          const granted = pushbacks.map((p) => s.next(p)).filter((d) => d.retry).length;
          expect(granted).toBe(maxAttempts - 1);
        },
      ),
    );
  });

  it("applies the backoff's own cap: gRFC A6's 5 attempts", () => {
    const s = schedule({
      maxAttempts: 10,
      backoff: exponentialBackoff({ initialMs: 100, maxMs: 1_000, jitter: "grpc" }),
    });
    const delays = [1, 2, 3, 4].map(() => s.next(undefined));
    expect(delays).toEqual(
      [100, 200, 400, 800].map((delayMs) => ({ retry: true, delayMs, source: "backoff" })),
    );
    expect(s.next(undefined)).toEqual({ retry: false, reason: "max-attempts" });
  });

  it("feeds a decorrelated backoff its previous delay, and starts it over after a pushback", () => {
    const s = schedule({
      backoff: decorrelatedJitterBackoff({ baseMs: 100, maxMs: 10_000 }),
      maxAttempts: 10,
      random: () => 1,
    });
    expect(s.next(undefined)).toMatchObject({ delayMs: 300 }); // random(100, 3 × 100)
    expect(s.next(undefined)).toMatchObject({ delayMs: 900 }); // random(100, 3 × 300)
    expect(s.next(50)).toMatchObject({ delayMs: 50, source: "pushback" });
    expect(s.next(undefined)).toMatchObject({ delayMs: 300 });
  });
});
