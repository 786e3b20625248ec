import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decideLoginAttempt, defaultLoginLimitPolicy } from "./login-limit.ts";

const policy = { maxFailures: 3, windowMs: 1000 };

describe("decideLoginAttempt", () => {
  it("defaults to OWASP's example: 5 failures in 15 minutes", () => {
    expect(defaultLoginLimitPolicy).toEqual({ maxFailures: 5, windowMs: 900_000 });
  });

  it("counts an allowed attempt at once and refuses past the limit until the oldest expires", () => {
    let log: readonly number[] = [];
    for (const now of [0, 100, 200]) {
      const decision = decideLoginAttempt(log, now, policy);
      expect(decision.allowed).toBe(true);
      log = decision.failures;
    }
    expect(log).toEqual([0, 100, 200]);
    expect(decideLoginAttempt(log, 300, policy)).toEqual({
      allowed: false,
      retryAfterMs: 700,
      failures: [0, 100, 200],
    });
    expect(decideLoginAttempt(log, 999, policy).allowed).toBe(false);
    expect(decideLoginAttempt(log, 1000, policy)).toEqual({
      allowed: true,
      failures: [100, 200, 1000],
    });
  });

  it("keeps a failure stamped ahead of now by another replica's clock", () => {
    expect(decideLoginAttempt([50, 60, 70], 10, policy).allowed).toBe(false);
  });

  it("never allows more than maxFailures in any window, whatever the attempt times", () => {
    const times = fc
      .array(fc.integer({ min: 0, max: 5000 }), { maxLength: 60 })
      .map((ts) => ts.sort((a, b) => a - b));
    fc.assert(
      fc.property(times, (ts) => {
        let log: readonly number[] = [];
        const allowed: number[] = [];
        for (const now of ts) {
          const decision = decideLoginAttempt(log, now, policy);
          log = decision.failures;
          expect(log.length).toBeLessThanOrEqual(policy.maxFailures);
          if (decision.allowed) allowed.push(now);
          else expect(decision.retryAfterMs).toBeGreaterThan(0);
        }
        for (const start of allowed) {
          const inWindow = allowed.filter((t) => t >= start && t < start + policy.windowMs);
          expect(inWindow.length).toBeLessThanOrEqual(policy.maxFailures);
        }
      }),
    );
  });
});
