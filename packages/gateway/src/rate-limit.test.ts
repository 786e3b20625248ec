import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createFakeClock } from "@plexus/testing";
import { createMemoryRateLimitStore, gcra } from "./rate-limit-store.ts";
import { createRateLimiter, rateLimitFromEnv } from "./rate-limiter.ts";

const perMinute = (limit: number) => ({ limit, periodMs: 60_000 });

describe("gcra", () => {
  it("allows a burst of `limit`, then one request per interval", () => {
    let tat: number | undefined;
    const now = 1_000_000;
    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = gcra(tat, now, perMinute(5), 1);
      expect(r.decision.allowed).toBe(true);
      remaining.push(r.decision.remaining);
      tat = r.tat;
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    const denied = gcra(tat, now, perMinute(5), 1);
    expect(denied.decision).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 12_000 });
    expect(denied.decision.resetMs).toBe(60_000);
    expect(denied.tat).toBe(tat); // a refused request costs nothing
    // One interval later exactly one more is allowed.
    const later = gcra(tat, now + 12_000, perMinute(5), 1);
    expect(later.decision).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("with a burst below the limit, allows `burst` at once and keeps the long-run rate", () => {
    const quota = { limit: 10, periodMs: 60_000, burst: 4 };
    let tat: number | undefined;
    const remaining: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = gcra(tat, 0, quota, 1);
      expect(r.decision).toMatchObject({ allowed: true, limit: 10, burst: 4, periodMs: 60_000 });
      remaining.push(r.decision.remaining);
      tat = r.tat;
    }
    expect(remaining).toEqual([3, 2, 1, 0]);
    const denied = gcra(tat, 0, quota, 1);
    // One request every 6 s (10 a minute); full again 4 intervals after the burst.
    expect(denied.decision).toMatchObject({ allowed: false, retryAfterMs: 6_000, resetMs: 24_000 });
    expect(gcra(tat, 6_000, quota, 1).decision).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("never allows more than `burst` plus what the rate refills over any span", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 80 }),
        (limit, burst, gaps) => {
          const quota = { limit, periodMs: 60_000, burst };
          const interval = 60_000 / limit;
          let tat: number | undefined;
          let now = 0;
          const allowedAt: number[] = [];
          for (const gap of gaps) {
            now += gap;
            const r = gcra(tat, now, quota, 1);
            tat = r.tat;
            if (r.decision.allowed) allowedAt.push(now);
            expect(r.decision.remaining).toBeLessThanOrEqual(burst - 1);
          }
          for (let i = 0; i < allowedAt.length; i++) {
            for (let j = i; j < allowedAt.length; j++) {
              const span = allowedAt[j]! - allowedAt[i]!;
              expect(j - i + 1).toBeLessThanOrEqual(burst + Math.floor(span / interval + 1e-9));
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("keeps remaining exact when the interval is not a whole number", () => {
    let tat: number | undefined;
    for (let i = 0; i < 7; i++) {
      const r = gcra(tat, 0, perMinute(7), 1);
      expect(r.decision.remaining).toBe(6 - i);
      tat = r.tat;
    }
  });
});

describe("createMemoryRateLimitStore", () => {
  it("counts per key and refills over time (fake clock)", () => {
    const clock = createFakeClock(Date.UTC(2030, 0, 1));
    const store = createMemoryRateLimitStore({ clock });
    for (let i = 0; i < 3; i++)
      expect(store.consume("a", perMinute(3), 1)).toMatchObject({ allowed: true });
    expect(store.consume("a", perMinute(3), 1)).toMatchObject({
      allowed: false,
      retryAfterMs: 20_000,
    });
    expect(store.consume("b", perMinute(3), 1)).toMatchObject({ allowed: true, remaining: 2 });
    clock.advance(20_000);
    expect(store.consume("a", perMinute(3), 1)).toMatchObject({ allowed: true, remaining: 0 });
    clock.advance(60_000);
    expect(store.consume("a", perMinute(3), 1)).toMatchObject({ allowed: true, remaining: 2 });
  });

  it("evicts expired keys as it goes and never holds more than maxKeys", () => {
    const clock = createFakeClock(Date.UTC(2030, 0, 1));
    const store = createMemoryRateLimitStore({ clock, maxKeys: 50 });
    for (let i = 0; i < 200; i++) store.consume(`k${i}`, perMinute(10), 1);
    expect(store.size).toBe(50);
    clock.advance(61_000);
    // Every key has expired: each call sweeps up to two, so the map drains without a timer.
    for (let i = 0; i < 30; i++) store.consume("hot", perMinute(1000), 1);
    expect(store.size).toBeLessThanOrEqual(1);
  });
});

describe("createRateLimiter", () => {
  it("limits principals by tier and anonymous clients by IP, on separate keys", async () => {
    const clock = createFakeClock(Date.UTC(2030, 0, 1));
    const limiter = createRateLimiter({
      defaultLimit: 2,
      anonymousLimit: 1,
      tiers: { pro: 4 },
      store: createMemoryRateLimitStore({ clock }),
    });
    const free = { principal: { subject: "u1", tier: "free" }, clientIp: "10.0.0.1" };
    const pro = { principal: { subject: "u2", tier: "pro" }, clientIp: "10.0.0.1" };
    const anon = { clientIp: "10.0.0.1" };
    expect((await limiter.check(free)).limit).toBe(2);
    expect((await limiter.check(pro)).limit).toBe(4);
    expect(await limiter.check(anon)).toMatchObject({ limit: 1, allowed: true });
    expect(await limiter.check(anon)).toMatchObject({ allowed: false });
    // The same IP authenticated is counted on the user, not the IP.
    expect(await limiter.check(free)).toMatchObject({ allowed: true, remaining: 0 });
    expect(await limiter.check(free)).toMatchObject({ allowed: false });
    // An IP that looks like a subject cannot share its bucket.
    expect(await limiter.check({ clientIp: "u1" })).toMatchObject({ allowed: true });
  });

  it("counts a named policy on its own keys, per subject else per IP, with its own quota", () => {
    const clock = createFakeClock(Date.UTC(2030, 0, 1));
    const limiter = createRateLimiter({
      defaultLimit: 100,
      tiers: { pro: 1000 },
      policies: { credentials: { limit: 10, burst: 2 } },
      store: createMemoryRateLimitStore({ clock }),
    });
    const anon = { clientIp: "10.0.0.1" };
    const credentials = () => limiter.check(anon, 1, "credentials");
    expect(credentials()).toMatchObject({ allowed: true, limit: 10, burst: 2, remaining: 1 });
    expect(credentials()).toMatchObject({ allowed: true, remaining: 0 });
    expect(credentials()).toMatchObject({ allowed: false, retryAfterMs: 6_000 });
    // The general quota of the same client is untouched by the policy, and the reverse.
    expect(limiter.check(anon)).toMatchObject({ allowed: true, limit: 100, remaining: 99 });
    // Another client has its own bucket; a tier does not change a policy's limit.
    expect(limiter.check({ clientIp: "10.0.0.2" }, 1, "credentials")).toMatchObject({
      allowed: true,
    });
    const pro = { principal: { subject: "u1", tier: "pro" }, clientIp: "10.0.0.1" };
    expect(limiter.check(pro, 1, "credentials")).toMatchObject({ allowed: true, limit: 10 });
    clock.advance(6_000);
    expect(credentials()).toMatchObject({ allowed: true, remaining: 0 });
    expect(credentials()).toMatchObject({ allowed: false });
    expect(limiter.hasPolicy("credentials")).toBe(true);
    expect(limiter.hasPolicy("other")).toBe(false);
    expect(() => limiter.check(anon, 1, "other")).toThrow(/no rate limit policy named other/);
  });

  it("refuses a policy with a bad name, limit, burst or period", () => {
    expect(() => createRateLimiter({ policies: { "a/b": { limit: 1 } } })).toThrow(/name/);
    expect(() => createRateLimiter({ policies: { a: { limit: 0 } } })).toThrow(/policy a/);
    expect(() => createRateLimiter({ policies: { a: { limit: 5, burst: 0.5 } } })).toThrow(
      /policy a burst/,
    );
    expect(() => createRateLimiter({ policies: { a: { limit: 5, periodMs: -1 } } })).toThrow(
      /policy a periodMs/,
    );
  });

  it("reads PLEXUS_RATE_LIMIT and refuses nonsense", () => {
    expect(rateLimitFromEnv({ PLEXUS_RATE_LIMIT: "42" })).toBe(42);
    expect(rateLimitFromEnv({})).toBeUndefined();
    expect(() => rateLimitFromEnv({ PLEXUS_RATE_LIMIT: "1.5" })).toThrow();
    expect(() => createRateLimiter({ tiers: { pro: 0 } })).toThrow();
  });
});
