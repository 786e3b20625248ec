import { Code, PlexusError } from "@plexus/core";
import { createFakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { retryAfterKey } from "./errors.ts";
import { createHedgingPolicy, type HedgeEvent, type HedgeRefusedEvent } from "./hedging.ts";
import { execute, type PolicyContext } from "./policy.ts";
import { createRetryBudget } from "./retry-budget.ts";

interface Attempt {
  at: number;
  attempt: number;
  signal: AbortSignal;
  resolve(value: string): void;
  reject(error: unknown): void;
}

function setup(
  options: {
    maxAttempts?: number;
    delayMs?: number;
    budget?: ReturnType<typeof createRetryBudget>;
  } = {},
) {
  const clock = createFakeClock(0);
  const hedges: HedgeEvent[] = [];
  const refused: HedgeRefusedEvent[] = [];
  const policy = createHedgingPolicy({
    delayMs: options.delayMs ?? 100,
    maxAttempts: options.maxAttempts ?? 3,
    budget: options.budget,
    clock,
    onHedge: (e) => hedges.push(e),
    onRefused: (e) => refused.push(e),
  });
  const attempts: Attempt[] = [];
  const op = (signal: AbortSignal, context: PolicyContext) =>
    new Promise<string>((resolve, reject) => {
      attempts.push({ at: clock.now(), attempt: context.attempt, signal, resolve, reject });
    });
  return { clock, policy, attempts, op, hedges, refused };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const unavailable = (metadata?: Record<string, string>) =>
  new PlexusError(Code.Unavailable, "down", { metadata });

describe("hedging (gRFC A6)", () => {
  it("sends a hedge each hedgingDelay without a response, up to maxAttempts", async () => {
    const t = setup({ maxAttempts: 3, delayMs: 100 });
    void execute(t.policy, t.op).catch(() => {});
    await t.clock.advanceAsync(350);
    expect(t.attempts.map((a) => [a.attempt, a.at])).toEqual([
      [1, 0],
      [2, 100],
      [3, 200],
    ]);
    expect(t.hedges.map((h) => h.trigger)).toEqual(["delay", "delay"]);
  });

  it("the first success wins and cancels every other attempt", async () => {
    const t = setup();
    const outcome = execute(t.policy, t.op);
    await t.clock.advanceAsync(200);
    t.attempts[1]!.resolve("second");
    expect(await outcome).toBe("second");
    expect(t.attempts[0]!.signal.aborted).toBe(true);
    expect(t.attempts[2]!.signal.aborted).toBe(true);
    expect(t.attempts[1]!.signal.aborted).toBe(false);
    expect((t.attempts[0]!.signal.reason as PlexusError).code).toBe(Code.Canceled);
    await t.clock.advanceAsync(1_000);
    expect(t.attempts).toHaveLength(3); // nothing sent after the win
    expect(t.clock.pendingTimers()).toBe(0);
  });

  it("a non-fatal failure sends the next hedge at once; later hedges resume at hedgingDelay", async () => {
    const t = setup({ maxAttempts: 3, delayMs: 100 });
    void execute(t.policy, t.op).catch(() => {});
    await t.clock.advanceAsync(30);
    t.attempts[0]!.reject(unavailable());
    await flush();
    expect(t.attempts.map((a) => a.at)).toEqual([0, 30]);
    await t.clock.advanceAsync(100);
    expect(t.attempts.map((a) => a.at)).toEqual([0, 30, 130]);
    expect(t.hedges.map((h) => h.trigger)).toEqual(["non-fatal", "delay"]);
  });

  it("a fatal failure cancels every attempt and is returned", async () => {
    const t = setup();
    const outcome = execute(t.policy, t.op).catch((e: unknown) => e);
    await t.clock.advanceAsync(100);
    t.attempts[1]!.reject(new PlexusError(Code.InvalidArgument, "bad"));
    expect(((await outcome) as PlexusError).code).toBe(Code.InvalidArgument);
    expect(t.attempts[0]!.signal.aborted).toBe(true);
    await t.clock.advanceAsync(1_000);
    expect(t.attempts).toHaveLength(2);
  });

  it("when every attempt fails non-fatally, returns the last failure", async () => {
    const t = setup({ maxAttempts: 2 });
    const outcome = execute(t.policy, t.op).catch((e: unknown) => e);
    await t.clock.advanceAsync(100);
    t.attempts[0]!.reject(unavailable());
    await flush();
    const last = unavailable();
    t.attempts[1]!.reject(last);
    expect(await outcome).toBe(last);
  });

  it("a pushback delays the next hedge by its value; a negative one stops hedging", async () => {
    const t = setup({ maxAttempts: 3, delayMs: 100 });
    void execute(t.policy, t.op).catch(() => {});
    await t.clock.advanceAsync(10);
    t.attempts[0]!.reject(unavailable({ [retryAfterKey]: "500" }));
    await t.clock.advanceAsync(499);
    expect(t.attempts).toHaveLength(1);
    await t.clock.advanceAsync(1);
    expect(t.attempts.map((a) => a.at)).toEqual([0, 510]);
    expect(t.hedges.at(-1)?.trigger).toBe("pushback");
    await t.clock.advanceAsync(100); // then at pushback + hedgingDelay
    expect(t.attempts.map((a) => a.at)).toEqual([0, 510, 610]);

    const s = setup({ maxAttempts: 3 });
    const outcome = execute(s.policy, s.op).catch((e: unknown) => e);
    s.attempts[0]!.reject(unavailable({ [retryAfterKey]: "-1" }));
    expect(((await outcome) as PlexusError).code).toBe(Code.Unavailable);
    await s.clock.advanceAsync(1_000);
    expect(s.attempts).toHaveLength(1);
    expect(s.refused).toEqual([{ attempt: 2, reason: "pushback" }]);
  });

  it("sends hedges only while the budget allows (the first attempt always goes)", async () => {
    const budget = createRetryBudget({ maxTokens: 2, tokenRatio: 0.1 });
    budget.recordFailure(); // 1 token: at half, throttled
    const t = setup({ budget });
    const outcome = execute(t.policy, t.op);
    await t.clock.advanceAsync(500);
    expect(t.attempts).toHaveLength(1);
    expect(t.refused).toEqual([{ attempt: 2, reason: "throttled" }]);
    t.attempts[0]!.resolve("ok");
    expect(await outcome).toBe("ok");
  });

  it("stops at the deadline and on the caller's cancellation", async () => {
    const t = setup({ delayMs: 100 });
    const controller = new AbortController();
    const outcome = execute(t.policy, t.op, { signal: controller.signal, deadline: 150 }).catch(
      (e: unknown) => e,
    );
    await t.clock.advanceAsync(250);
    expect(t.attempts).toHaveLength(2); // the one due at 200 is past the deadline
    controller.abort(new PlexusError(Code.Canceled, "gone"));
    expect(((await outcome) as PlexusError).code).toBe(Code.Canceled);
    expect(t.attempts.every((a) => a.signal.aborted)).toBe(true);
  });
});
