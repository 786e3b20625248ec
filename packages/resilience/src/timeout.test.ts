import { chainInterceptors, Code, PlexusError } from "@plexus/core";
import { createFakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { rejectionKindOf } from "./errors.ts";
import { execute, type Policy, type PolicyContext } from "./policy.ts";
import { createTimeout } from "./timeout.ts";

/** An operation that never settles on its own and ignores its signal. */
const hang = () => new Promise<never>(() => {});

/** An operation that settles only when its signal aborts (a cooperative one), recording what it saw. */
function cooperative(seen: PolicyContext[]) {
  return (signal: AbortSignal, context: PolicyContext) => {
    seen.push(context);
    return new Promise<never>((_, reject) =>
      signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true }),
    );
  };
}

describe("timeout", () => {
  it("as a safety net, tightens a deadline the execution has but creates none", async () => {
    const clock = createFakeClock(0);
    const timeout = createTimeout({ timeoutMs: 100, clock, safetyNet: true });
    const seen: PolicyContext[] = [];
    const untimed = execute(timeout, cooperative(seen)).catch((e: unknown) => e);
    const timed = execute(timeout, cooperative(seen), { deadline: 500 }).catch((e: unknown) => e);
    expect(seen.map((context) => context.deadline)).toEqual([undefined, 100]);
    await clock.advanceAsync(100);
    expect(seen.map((context) => context.signal.aborted)).toEqual([true, true]);
    expect(await untimed).toMatchObject({ code: Code.DeadlineExceeded });
    expect(await timed).toMatchObject({ code: Code.DeadlineExceeded });
  });

  it("aborts the signal and fails with DeadlineExceeded when the time is up — not before", async () => {
    const clock = createFakeClock(0);
    const timeout = createTimeout({ timeoutMs: 100, clock });
    const seen: PolicyContext[] = [];
    let settled = false;
    const outcome = execute(timeout, cooperative(seen))
      .catch((e: unknown) => e)
      .finally(() => (settled = true));
    expect(seen[0]?.deadline).toBe(100);
    await clock.advanceAsync(99);
    expect(settled).toBe(false);
    expect(seen[0]?.signal.aborted).toBe(false);
    await clock.advanceAsync(1);
    const error = (await outcome) as PlexusError;
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(seen[0]?.signal.aborted).toBe(true);
  });

  it("aggressive (default): the caller gets DeadlineExceeded even when the operation ignores its signal", async () => {
    const clock = createFakeClock(0);
    const outcome = execute(createTimeout({ timeoutMs: 50, clock }), hang).catch((e: unknown) => e);
    await clock.advanceAsync(50);
    expect(((await outcome) as PlexusError).code).toBe(Code.DeadlineExceeded);
  });

  it("cooperative: only the signal aborts; the operation decides when to settle", async () => {
    const clock = createFakeClock(0);
    let signal: AbortSignal | undefined;
    let settled = false;
    void execute(createTimeout({ timeoutMs: 50, clock, strategy: "cooperative" }), (s) => {
      signal = s;
      return hang();
    }).finally(() => (settled = true));
    await clock.advanceAsync(100);
    expect(signal?.aborted).toBe(true);
    expect(settled).toBe(false);
  });

  it("uses the earlier of its own timeout and the caller's deadline, and hands it inwards", async () => {
    const clock = createFakeClock(1_000);
    const seen: PolicyContext[] = [];
    const timeout = createTimeout({ timeoutMs: 500, clock });
    void execute(timeout, cooperative(seen), { deadline: 1_200 }).catch(() => {});
    void execute(timeout, cooperative(seen), { deadline: 9_000 }).catch(() => {});
    expect(seen.map((c) => c.deadline)).toEqual([1_200, 1_500]);
    await clock.advanceAsync(500);
  });

  it("starts nothing once the deadline has passed (a local rejection the breaker and retry ignore)", async () => {
    const clock = createFakeClock(1_000);
    let called = false;
    const error = await execute(
      createTimeout({ timeoutMs: 500, clock }),
      async () => {
        called = true;
      },
      { deadline: 1_000 },
    ).catch((e: unknown) => e);
    expect(called).toBe(false);
    expect((error as PlexusError).code).toBe(Code.DeadlineExceeded);
    expect(rejectionKindOf(error)).toBe("deadline-passed");
  });

  it("a child never outlives its parent: nested timeouts take the earliest deadline", async () => {
    const clock = createFakeClock(0);
    const seen: PolicyContext[] = [];
    const layers = [
      createTimeout({ timeoutMs: 300, clock }),
      createTimeout({ timeoutMs: 1_000, clock }),
    ];
    const nested: Policy = (next) => chainInterceptors(layers, next);
    const outcome = execute(nested, cooperative(seen)).catch((e: unknown) => e);
    expect(seen[0]?.deadline).toBe(300);
    await clock.advanceAsync(300);
    expect(((await outcome) as PlexusError).code).toBe(Code.DeadlineExceeded);
    expect(seen[0]?.signal.aborted).toBe(true);
  });

  it("cancelling the caller cancels the attempt at once, with the caller's reason", async () => {
    const clock = createFakeClock(0);
    const seen: PolicyContext[] = [];
    const controller = new AbortController();
    const outcome = execute(
      createTimeout({ timeoutMs: 1_000, clock }),
      cooperative(seen),
      controller.signal,
    ).catch((e: unknown) => e);
    controller.abort(new PlexusError(Code.Canceled, "caller left"));
    const error = (await outcome) as PlexusError;
    expect(error.code).toBe(Code.Canceled);
    expect(seen[0]?.signal.aborted).toBe(true);
    expect(seen[0]?.signal).not.toBe(controller.signal);
  });

  it("fails at once when the caller's signal is already aborted", async () => {
    const clock = createFakeClock(0);
    const controller = new AbortController();
    controller.abort(new PlexusError(Code.Canceled, "gone"));
    let called = false;
    const error = await execute(
      createTimeout({ timeoutMs: 10, clock }),
      async () => {
        called = true;
      },
      controller.signal,
    ).catch((e: unknown) => e);
    expect(called).toBe(false);
    expect((error as PlexusError).code).toBe(Code.Canceled);
  });

  it("shares one timer per slot: calls that finish in time cost no timer of their own", async () => {
    const clock = createFakeClock(1);
    const timeout = createTimeout({ timeoutMs: 1_000, clock, resolutionMs: 10 });
    for (let i = 0; i < 100; i++) await execute(timeout, async () => i);
    expect(clock.pendingTimers()).toBe(1);
    await clock.advanceAsync(5);
    for (let i = 0; i < 100; i++) await execute(timeout, async () => i);
    expect(clock.pendingTimers()).toBe(1); // deadlines 1 001 and 1 006: the same slot, ending at 1 010
    await clock.advanceAsync(10);
    await execute(timeout, async () => 1);
    expect(clock.pendingTimers()).toBe(2);
    await clock.advanceAsync(2_000);
    expect(clock.pendingTimers()).toBe(0); // nothing lingers
  });

  it("never enforces a deadline early: a slot fires at its end", async () => {
    const clock = createFakeClock(3);
    const seen: PolicyContext[] = [];
    const outcome = execute(
      createTimeout({ timeoutMs: 10, clock, resolutionMs: 10 }),
      cooperative(seen),
    ).catch((e: unknown) => e);
    await clock.advanceAsync(10); // t = 13: deadline reached, the slot ends at 20
    expect(seen[0]?.signal.aborted).toBe(false);
    await clock.advanceAsync(7);
    expect(((await outcome) as PlexusError).code).toBe(Code.DeadlineExceeded);
  });

  it("returns the operation's own result and error when it settles in time", async () => {
    const clock = createFakeClock(0);
    const timeout = createTimeout({ timeoutMs: 100, clock });
    expect(await execute(timeout, async () => 42)).toBe(42);
    const boom = new PlexusError(Code.NotFound, "nope");
    expect(
      await execute(timeout, async () => {
        throw boom;
      }).catch((e: unknown) => e),
    ).toBe(boom);
  });
});
