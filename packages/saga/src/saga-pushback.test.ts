import { Code, PlexusError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { defineSaga, type StepContext } from "./saga-definition.ts";
import { eventually, orderSaga, realTick, timeline, useSagaTestEnv } from "./saga-test-kit.ts";

/*
 * A callee's pushback (`retryAfterMs`) steers the saga's own step retries (gRFC A6's reading):
 * it replaces the backoff, "do not retry" and a wait beyond `maxDelayMs` end the retries at once.
 * All waits are on the fake clock; every orchestrator draws its jitter at 0.5.
 */

const env = useSagaTestEnv({ closeTimeoutMs: 1_000, random: () => 0.5 });
const { freshDb, orchestrate } = env;

const unavailable = (retryAfterMs: string): PlexusError =>
  new PlexusError(Code.Unavailable, "provider unavailable", { metadata: { retryAfterMs } });

const chargeSaga = (charge: (ctx: StepContext<{ orderId: string }>) => Promise<unknown>) =>
  orderSaga(env.down, charge);

/** Fails the first try with `retryAfterMs`, succeeds after. */
const failingOnceWith = (retryAfterMs: string) =>
  chargeSaga(async (ctx) => {
    env.down.record(ctx);
    if (ctx.attempt === 1) throw unavailable(retryAfterMs);
    return "charged";
  });

const charges = (id: string) => env.down.trace(id).filter((call) => call === "charge:action");

/**
 * Waits until the execution sleeps (its timer next to the heartbeat's and the first try's
 * deadline slot, shared and armed until its time), then checks the wait.
 */
async function expectRetryAfter(id: string, waitMs: number, triesBefore: number): Promise<void> {
  await eventually(() => env.clock.pendingTimers() === 3, "the wait before the retry");
  env.clock.advance(waitMs - 1);
  await realTick(20);
  expect(charges(id)).toHaveLength(triesBefore);
  env.clock.advance(1);
  await eventually(() => charges(id).length > triesBefore, "the retry");
}

describe("saga step retries and pushback", () => {
  it.each([
    ["longer", 3_000],
    ["shorter", 200],
  ])("waits a pushback %s than the backoff (500 ms) instead of it", async (_, pushbackMs) => {
    const db = await freshDb();
    const orchestrator = orchestrate(db, [failingOnceWith(String(pushbackMs))], {
      actionRetry: { initialDelayMs: 1_000 },
    });
    await orchestrator.start("order", {}, { id: "p1" });
    await expectRetryAfter("p1", pushbackMs, 1);
    const view = await orchestrator.settled("p1");
    expect(view.status).toBe("COMPLETED");
    expect(timeline(view)).toEqual([
      "reserve:action#1=SUCCEEDED",
      "charge:action#1=RETRYING",
      "charge:action#2=SUCCEEDED",
      "confirm:action#1=SUCCEEDED",
    ]);
  });

  it.each([
    ["asks for no retry", "-1", {}],
    ["is malformed", "soon", {}],
    ["asks for more than maxDelayMs", "5001", { maxDelayMs: 5_000 }],
  ])("gives up at once, as exhausted, when the pushback %s", async (_, retryAfterMs, retry) => {
    const db = await freshDb();
    const orchestrator = orchestrate(db, [failingOnceWith(retryAfterMs)], {
      actionRetry: { initialDelayMs: 1_000, maxAttempts: 5, ...retry },
    });
    await orchestrator.start("order", {}, { id: "p2" });
    const view = await orchestrator.settled("p2");
    expect(env.clock.now()).toBe(env.epoch); // no wait at all
    expect(view.status).toBe("COMPENSATED");
    expect(view.failure).toMatchObject({ step: "charge", kind: "exhausted", code: "unavailable" });
    expect(charges("p2")).toHaveLength(1);
    expect(timeline(view)).toEqual([
      "reserve:action#1=SUCCEEDED",
      "charge:action#1=FAILED",
      "charge:compensation#1=SUCCEEDED",
      "reserve:compensation#1=SUCCEEDED",
    ]);
  });

  it("waits the pushback of a compensation's try too", async () => {
    const db = await freshDb();
    const saga = defineSaga({
      name: "undo",
      steps: [
        {
          name: "charge",
          action: async (ctx) => {
            env.down.record(ctx);
            throw new PlexusError(Code.FailedPrecondition, "declined");
          },
          compensation: async (ctx) => {
            env.down.record(ctx);
            if (ctx.attempt === 1) throw unavailable("4000");
          },
        },
      ],
    });
    const orchestrator = orchestrate(db, [saga]);
    await orchestrator.start("undo", {}, { id: "p3" });
    await eventually(() => env.clock.pendingTimers() === 3, "the wait before the retry");
    env.clock.advance(3_999);
    await realTick(20);
    expect(env.down.trace("p3")).toEqual(["charge:action", "charge:compensation"]);
    env.clock.advance(1);
    const view = await orchestrator.settled("p3");
    expect(view.status).toBe("COMPENSATED");
    expect(timeline(view)).toEqual([
      "charge:action#1=FAILED",
      "charge:compensation#1=RETRYING",
      "charge:compensation#2=SUCCEEDED",
    ]);
  });

  it("does not persist the wait: a resumed saga retries at once, as after a backoff, and honours the next pushback", async () => {
    const db = await freshDb();
    const saga = chargeSaga(async (ctx) => {
      env.down.record(ctx);
      if (ctx.attempt <= 2) throw unavailable("8000");
      return "charged";
    });
    const first = orchestrate(db, [saga], { owner: "first" });
    await first.start("order", {}, { id: "p4" });
    await eventually(() => env.clock.pendingTimers() === 3, "the pushback wait");
    await first.close(); // cuts the wait short; the RETRYING try is the resume point

    const second = orchestrate(db, [saga], { owner: "second" });
    await second.resumeAll();
    await eventually(() => charges("p4").length === 2, "the retry at once");
    expect(env.clock.now()).toBe(env.epoch);
    await expectRetryAfter("p4", 8_000, 2);
    const view = await second.settled("p4");
    expect(view.status).toBe("COMPLETED");
    expect(timeline(view)).toEqual([
      "reserve:action#1=SUCCEEDED",
      "charge:action#1=RETRYING",
      "charge:action#2=RETRYING",
      "charge:action#3=SUCCEEDED",
      "confirm:action#1=SUCCEEDED",
    ]);
  });
});
