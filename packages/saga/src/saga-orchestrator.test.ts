import { Code, PlexusError, runInContext } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { defineSaga, type SagaDefinition, type StepContext } from "./saga-definition.ts";
import {
  deferred,
  eventually,
  orderSaga as kitOrderSaga,
  realTick,
  timeline,
  useSagaTestEnv,
} from "./saga-test-kit.ts";

const env = useSagaTestEnv();
const { freshDb, orchestrate } = env;

const outcomeTable =
  "CREATE TABLE outcome (saga_id text PRIMARY KEY, status text NOT NULL, reason text)";

const declined = (): PlexusError =>
  new PlexusError(Code.FailedPrecondition, "card declined", { reason: "PAYMENT_DECLINED" });
const unavailable = (): PlexusError => new PlexusError(Code.Unavailable, "provider down");

const orderSaga = (
  charge: (ctx: StepContext<{ orderId: string }>) => Promise<unknown>,
  extra: Partial<SagaDefinition<{ orderId: string }>> = {},
) => kitOrderSaga(env.down, charge, extra);

describe("saga orchestrator", () => {
  it("runs every step in order, passing outputs on, and completes with its hook in the same transaction", async () => {
    const db = await freshDb(outcomeTable);
    const seenOutputs: unknown[] = [];
    const saga = orderSaga(
      async (ctx) => {
        seenOutputs.push(ctx.outputs);
        return env.down.apply(ctx, { chargeId: "ch_1" });
      },
      {
        onCompleted: async ({ saga: view, tx, failure }) => {
          expect(failure).toBeUndefined();
          await tx.query("INSERT INTO outcome (saga_id, status) VALUES ($1, $2)", [
            view.id,
            view.status,
          ]);
        },
      },
    );
    const orchestrator = orchestrate(db, [saga]);
    const started = await runInContext({ correlationId: "corr-1", requestId: "req-1" }, () =>
      orchestrator.start("order", { orderId: "o1" }, { id: "o1" }),
    );
    expect(started).toEqual({ id: "o1", created: true });

    const view = await orchestrator.settled("o1");
    expect(view.status).toBe("COMPLETED");
    expect(view.stepIndex).toBe(3);
    expect(view.outputs).toEqual({
      reserve: { reservation: "res-o1" },
      charge: { chargeId: "ch_1" },
      confirm: null,
    });
    expect(seenOutputs).toEqual([{ reserve: { reservation: "res-o1" } }]);
    expect(view.correlationId).toBe("corr-1");
    expect(view.finishedAt).not.toBeNull();
    expect(env.down.trace("o1")).toEqual(["reserve:action", "charge:action", "confirm:action"]);
    for (const call of env.down.calls) {
      expect(call.key).toBe(`o1:${call.step}:action`);
      expect(call.contextKey).toBe(call.key);
    }
    expect(timeline(view)).toEqual([
      "reserve:action#1=SUCCEEDED",
      "charge:action#1=SUCCEEDED",
      "confirm:action#1=SUCCEEDED",
    ]);
    const outcome = await db.query("SELECT status FROM outcome WHERE saga_id = 'o1'");
    expect(outcome.rows).toEqual([{ status: "COMPLETED" }]);
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
  });

  it("on a business failure at step 2 compensates step 1 only", async () => {
    const db = await freshDb(outcomeTable);
    const hookFailures: unknown[] = [];
    const saga = orderSaga(
      async (ctx) => {
        env.down.record(ctx);
        throw declined();
      },
      {
        onCompensated: async ({ saga: view, tx, failure }) => {
          hookFailures.push(failure);
          await tx.query("INSERT INTO outcome VALUES ($1, $2, $3)", [
            view.id,
            view.status,
            failure?.reason,
          ]);
        },
      },
    );
    const orchestrator = orchestrate(db, [saga]);
    await orchestrator.start("order", { orderId: "o2" }, { id: "o2" });
    const view = await orchestrator.settled("o2");

    expect(view.status).toBe("COMPENSATED");
    expect(view.stepIndex).toBe(-1);
    expect(view.failureReason).toBe("PAYMENT_DECLINED");
    expect(view.failure).toMatchObject({ step: "charge", kind: "business", phase: "action" });
    expect(env.down.trace("o2")).toEqual([
      "reserve:action",
      "charge:action",
      "reserve:compensation",
    ]);
    expect(env.down.calls.at(-1)?.key).toBe("o2:reserve:compensation");
    expect(timeline(view)).toEqual([
      "reserve:action#1=SUCCEEDED",
      "charge:action#1=FAILED",
      "reserve:compensation#1=SUCCEEDED",
    ]);
    expect(view.steps[1]?.error).toMatchObject({
      reason: "PAYMENT_DECLINED",
      code: "failed_precondition",
    });
    expect(hookFailures).toHaveLength(1);
    const outcome = await db.query("SELECT status, reason FROM outcome");
    expect(outcome.rows).toEqual([{ status: "COMPENSATED", reason: "PAYMENT_DECLINED" }]);
  });

  it("compensates completed steps in reverse order, and a failed step only when it may have taken effect", async () => {
    const db = await freshDb();
    const step = (name: string, fail?: "fatal" | "fatal-no-effect") => ({
      name,
      action: async (ctx: StepContext) => {
        env.down.apply(ctx);
        if (fail) throw new PlexusError(Code.InvalidArgument, "rejected");
      },
      compensation: async (ctx: StepContext) => {
        env.down.apply(ctx);
      },
      ...(fail === "fatal-no-effect" ? { compensateOnFailure: false } : {}),
    });
    const undoesSelf = defineSaga({
      name: "self",
      steps: [step("a"), step("b"), step("c", "fatal")],
    });
    const keepsSelf = defineSaga({
      name: "noself",
      steps: [step("a"), step("b"), step("c", "fatal-no-effect")],
    });
    const orchestrator = orchestrate(db, [undoesSelf, keepsSelf]);
    await orchestrator.start("self", {}, { id: "s1" });
    await orchestrator.start("noself", {}, { id: "s2" });
    const [one, two] = await Promise.all([orchestrator.settled("s1"), orchestrator.settled("s2")]);

    expect(one.status).toBe("COMPENSATED");
    expect(one.failure?.kind).toBe("fatal");
    expect(env.down.trace("s1")).toEqual([
      "a:action",
      "b:action",
      "c:action",
      "c:compensation",
      "b:compensation",
      "a:compensation",
    ]);
    expect(two.status).toBe("COMPENSATED");
    expect(env.down.trace("s2")).toEqual([
      "a:action",
      "b:action",
      "c:action",
      "b:compensation",
      "a:compensation",
    ]);
    // InvalidArgument is not retryable: one try each.
    expect(one.steps.filter((s) => s.step === "c" && s.phase === "action")).toHaveLength(1);
  });

  it("when retries run out on a transient failure, undoes that step too (the charge may have happened)", async () => {
    const db = await freshDb();
    const saga = orderSaga(async (ctx) => {
      env.down.apply(ctx, { chargeId: "ch" }); // the provider charged, but the answer was lost
      throw unavailable();
    });
    const orchestrator = orchestrate(db, [saga]);
    await orchestrator.start("order", { orderId: "o3" }, { id: "o3" });
    const view = await orchestrator.settled("o3");

    expect(view.status).toBe("COMPENSATED");
    expect(view.failure).toMatchObject({ step: "charge", kind: "exhausted", code: "unavailable" });
    expect(env.down.trace("o3")).toEqual([
      "reserve:action",
      "charge:action",
      "charge:action",
      "charge:action",
      "charge:compensation",
      "reserve:compensation",
    ]);
    expect(
      new Set(
        env.down.calls.filter((c) => c.step === "charge" && c.phase === "action").map((c) => c.key),
      ),
    ).toEqual(new Set(["o3:charge:action"]));
    expect(timeline(view)).toEqual([
      "reserve:action#1=SUCCEEDED",
      "charge:action#1=RETRYING",
      "charge:action#2=RETRYING",
      "charge:action#3=FAILED",
      "charge:compensation#1=SUCCEEDED",
      "reserve:compensation#1=SUCCEEDED",
    ]);
  });

  it("retries a transient failure after a jittered backoff on the clock, with one effect downstream", async () => {
    const db = await freshDb();
    const saga = orderSaga(async (ctx) => {
      const result = env.down.apply(ctx, { chargeId: "ch_once" });
      if (ctx.attempt === 1) throw unavailable(); // applied, but the caller saw a failure
      return result;
    });
    const orchestrator = orchestrate(db, [saga], {
      actionRetry: { initialDelayMs: 1_000 },
      random: () => 0.5,
    });
    await orchestrator.start("order", { orderId: "o4" }, { id: "o4" });

    // heartbeat, the tries' deadline slot (shared, armed until its time) + the backoff sleep
    await eventually(() => env.clock.pendingTimers() === 3, "the backoff sleep");
    expect(env.down.trace("o4")).toEqual(["reserve:action", "charge:action"]);
    env.clock.advance(499);
    await realTick(20);
    expect(env.down.trace("o4")).toEqual(["reserve:action", "charge:action"]);
    env.clock.advance(1);
    const view = await orchestrator.settled("o4");

    expect(view.status).toBe("COMPLETED");
    expect(view.outputs["charge"]).toEqual({ chargeId: "ch_once" });
    const charges = env.down.calls.filter((c) => c.step === "charge");
    expect(charges.map((c) => c.key)).toEqual(["o4:charge:action", "o4:charge:action"]);
    expect(env.down.effects("o4").filter((k) => k.includes(":charge:"))).toEqual([
      "o4:charge:action",
    ]);
    expect(timeline(view).slice(1, 3)).toEqual([
      "charge:action#1=RETRYING",
      "charge:action#2=SUCCEEDED",
    ]);
    expect(view.steps[1]?.error?.code).toBe("unavailable");
  });

  it("times out a try that does not answer, aborts its signal and retries with the same key", async () => {
    const db = await freshDb();
    const signals: AbortSignal[] = [];
    const slow = deferred<unknown>();
    const saga = defineSaga({
      name: "slow",
      steps: [
        {
          name: "charge",
          timeoutMs: 1_000,
          action: async (ctx) => {
            signals.push(ctx.signal);
            const result = env.down.apply(ctx, { chargeId: "ch_slow" });
            if (ctx.attempt === 1) return slow.promise; // ignores its signal, answers too late
            return result;
          },
        },
      ],
    });
    const orchestrator = orchestrate(db, [saga]);
    await orchestrator.start("slow", {}, { id: "t1" });
    await eventually(() => env.down.calls.length === 1, "the first try");
    expect(signals[0]?.aborted).toBe(false);
    env.clock.advance(999);
    await realTick(20);
    expect(env.down.calls).toHaveLength(1);
    env.clock.advance(1);
    const view = await orchestrator.settled("t1");
    slow.resolve({ chargeId: "late" });

    expect(view.status).toBe("COMPLETED");
    expect(view.outputs).toEqual({ charge: { chargeId: "ch_slow" } });
    expect(signals[0]?.aborted).toBe(true);
    expect(PlexusError.from(signals[0]?.reason).code).toBe(Code.DeadlineExceeded);
    expect(env.down.calls.map((c) => c.key)).toEqual(["t1:charge:action", "t1:charge:action"]);
    expect(env.down.effects("t1")).toHaveLength(1);
    expect(timeline(view)).toEqual(["charge:action#1=RETRYING", "charge:action#2=SUCCEEDED"]);
    expect(view.steps[0]?.error?.code).toBe("deadline_exceeded");
  });

  it("parks a saga whose compensation keeps failing as NEEDS_ATTENTION, with its history, until an operator retries it", async () => {
    const db = await freshDb(outcomeTable);
    let catalogUp = false;
    const alerts: string[] = [];
    const compensated: string[] = [];
    const saga = defineSaga<{ orderId: string }>({
      name: "order",
      steps: [
        {
          name: "reserve",
          action: async (ctx) => env.down.apply(ctx),
          compensation: async (ctx) => {
            if (!catalogUp) {
              env.down.record(ctx);
              throw new Error("catalog down");
            }
            env.down.apply(ctx);
          },
        },
        {
          name: "charge",
          action: async () => {
            throw declined();
          },
          isBusinessFailure: (e) => e.reason === "PAYMENT_DECLINED",
        },
      ],
      onNeedsAttention: async ({ saga: view, tx }) => {
        alerts.push(view.id);
        await tx.query("INSERT INTO outcome VALUES ($1, $2, $3)", [view.id, view.status, null]);
      },
      onCompensated: async ({ saga: view, tx }) => {
        compensated.push(view.id);
        await tx.query("UPDATE outcome SET status = $2 WHERE saga_id = $1", [view.id, view.status]);
      },
    });
    const orchestrator = orchestrate(db, [saga], {
      compensationRetry: { maxAttempts: 3, initialDelayMs: 0 },
    });
    await orchestrator.start("order", { orderId: "o5" }, { id: "o5" });
    const parked = await orchestrator.settled("o5");

    expect(parked.status).toBe("NEEDS_ATTENTION");
    expect(parked.resumeStatus).toBe("COMPENSATING");
    expect(parked.failureReason).toBe("PAYMENT_DECLINED");
    expect(parked.attention).toMatchObject({
      step: "reserve",
      phase: "compensation",
      kind: "exhausted",
    });
    expect(parked.attention?.message).toContain("catalog down");
    expect(timeline(parked)).toEqual([
      "reserve:action#1=SUCCEEDED",
      "charge:action#1=FAILED",
      "reserve:compensation#1=RETRYING",
      "reserve:compensation#2=RETRYING",
      "reserve:compensation#3=FAILED",
    ]);
    expect(alerts).toEqual(["o5"]);
    expect((await orchestrator.list({ status: "NEEDS_ATTENTION" })).items.map((s) => s.id)).toEqual(
      ["o5"],
    );
    // Parked sagas are not resumed automatically.
    expect(await orchestrator.resumeAll()).toBe(0);

    catalogUp = true;
    await orchestrator.retry("o5");
    const done = await orchestrator.settled("o5");
    expect(done.status).toBe("COMPENSATED");
    expect(done.resumeStatus).toBeNull();
    expect(timeline(done).at(-1)).toBe("reserve:compensation#4=SUCCEEDED");
    expect(env.down.effects("o5")).toEqual(["o5:reserve:action", "o5:reserve:compensation"]);
    expect(compensated).toEqual(["o5"]);
    expect((await db.query("SELECT status FROM outcome")).rows).toEqual([
      { status: "COMPENSATED" },
    ]);

    await expect(orchestrator.retry("o5")).rejects.toMatchObject({ code: Code.FailedPrecondition });
    await expect(orchestrator.retry("nope")).rejects.toMatchObject({ code: Code.NotFound });
    // An operator's malformed id is a validation error, never a storage error.
    for (const id of ["", "a\0b", "x".repeat(201)]) {
      const invalid = { code: Code.InvalidArgument, reason: "VALIDATION_ERROR" };
      await expect(orchestrator.retry(id)).rejects.toMatchObject(invalid);
      await expect(orchestrator.get(id)).rejects.toMatchObject(invalid);
    }
  });

  it("retries a failing finish hook, rolls its writes back, and parks when it keeps failing", async () => {
    const db = await freshDb(outcomeTable);
    let hookCalls = 0;
    let hookBroken = 1; // fails once, then works
    const saga = defineSaga({
      name: "hooked",
      steps: [{ name: "only", action: async (ctx) => env.down.apply(ctx) }],
      onCompleted: async ({ saga: view, tx }) => {
        hookCalls++;
        await tx.query("INSERT INTO outcome VALUES ($1, $2, NULL)", [view.id, view.status]);
        if (hookBroken-- > 0) throw new Error("hook broke");
      },
    });
    const orchestrator = orchestrate(db, [saga], {
      finishRetry: { maxAttempts: 2, initialDelayMs: 0 },
    });
    await orchestrator.start("hooked", {}, { id: "h1" });
    expect((await orchestrator.settled("h1")).status).toBe("COMPLETED");
    expect(hookCalls).toBe(2);
    expect((await db.query("SELECT count(*)::int AS n FROM outcome")).rows).toEqual([{ n: 1 }]);

    hookBroken = 2; // both finish tries fail
    await orchestrator.start("hooked", {}, { id: "h2" });
    const parked = await orchestrator.settled("h2");
    expect(parked.status).toBe("NEEDS_ATTENTION");
    expect(parked.resumeStatus).toBe("RUNNING");
    expect(parked.stepIndex).toBe(1);
    expect(parked.attention).toMatchObject({ phase: "finish", kind: "interrupted" });
    expect(parked.attention?.message).toContain("hook broke");

    await orchestrator.retry("h2");
    const done = await orchestrator.settled("h2");
    expect(done.status).toBe("COMPLETED");
    expect(env.down.trace("h2")).toEqual(["only:action"]); // the step did not run again
  });

  it("parks even when the onNeedsAttention hook itself keeps failing", async () => {
    const db = await freshDb();
    let alerts = 0;
    const saga = defineSaga({
      name: "noisy",
      steps: [
        {
          name: "a",
          action: async (ctx) => env.down.apply(ctx),
          compensation: async () => {
            throw new Error("undo broke");
          },
        },
        {
          name: "b",
          action: async () => 10n, // not JSON: a fatal failure of the step
          compensateOnFailure: false,
        },
      ],
      onNeedsAttention: async () => {
        alerts++;
        throw new Error("pager down");
      },
    });
    const orchestrator = orchestrate(db, [saga], {
      compensationRetry: { maxAttempts: 1 },
      finishRetry: { maxAttempts: 2, initialDelayMs: 0 },
    });
    await orchestrator.start("noisy", {}, { id: "n1" });
    const parked = await orchestrator.settled("n1");
    expect(parked.status).toBe("NEEDS_ATTENTION");
    expect(parked.failure).toMatchObject({ step: "b", kind: "fatal", code: "internal" });
    expect(parked.failure?.message).toContain("non-JSON output");
    expect(parked.attention).toMatchObject({ step: "a", phase: "compensation" });
    expect(alerts).toBe(2);
    expect(timeline(parked)).toEqual([
      "a:action#1=SUCCEEDED",
      "b:action#1=FAILED",
      "a:compensation#1=FAILED",
    ]);
  });

  it("runs one instance for concurrent starts of the same id, across orchestrators", async () => {
    const db = await freshDb();
    const gate = deferred();
    const saga = defineSaga({
      name: "once",
      steps: [
        {
          name: "a",
          action: async (ctx) => {
            env.down.apply(ctx);
            await gate.promise;
          },
        },
        { name: "b", action: async (ctx) => env.down.apply(ctx) },
      ],
    });
    const first = orchestrate(db, [saga], { owner: "first" });
    const second = orchestrate(db, [saga], { owner: "second" });
    const results = await Promise.all([
      first.start("once", { n: 1 }, { id: "same" }),
      second.start("once", { n: 1 }, { id: "same" }),
      first.start("once", { n: 1 }, { id: "same" }),
      second.start("once", { n: 1 }, { id: "same" }),
    ]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.id))).toEqual(new Set(["same"]));
    await eventually(() => env.down.calls.length === 1, "step a");
    // Starting again while it runs neither duplicates nor disturbs it.
    await first.start("once", { n: 1 }, { id: "same" });
    await second.resumeAll();
    await realTick(20);
    gate.resolve();
    await eventually(async () => (await first.get("same"))?.status === "COMPLETED", "completion");
    expect(env.down.trace("same")).toEqual(["a:action", "b:action"]);

    await expect(first.start("once", { n: 2 }, { id: "same" })).rejects.toMatchObject({
      code: Code.AlreadyExists,
      reason: "SAGA_ID_REUSED",
    });
    // Same input in another key order is the same input.
    expect(await first.start("once", { n: 1 }, { id: "same" })).toEqual({
      id: "same",
      created: false,
    });
  });

  it("starts inside the caller's transaction: runs only after commit, never after a rollback", async () => {
    const db = await freshDb("CREATE TABLE orders (id text PRIMARY KEY)");
    const saga = defineSaga({
      name: "tx",
      steps: [{ name: "a", action: async (ctx) => env.down.apply(ctx) }],
    });
    const orchestrator = orchestrate(db, [saga]);
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO orders VALUES ('committed')");
      const started = await orchestrator.start("tx", {}, { id: "committed", tx });
      expect(started.created).toBe(true);
      await realTick(20);
      expect(env.down.calls).toHaveLength(0);
    });
    expect((await orchestrator.settled("committed")).status).toBe("COMPLETED");

    await expect(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO orders VALUES ('rolled-back')");
        await orchestrator.start("tx", {}, { id: "rolled-back", tx });
        throw new Error("business rule failed");
      }),
    ).rejects.toThrow("business rule failed");
    await orchestrator.start("tx", {}, { id: "after" });
    await orchestrator.settled("after");
    expect(await orchestrator.get("rolled-back")).toBeUndefined();
    expect(env.down.trace("rolled-back")).toEqual([]);
    expect((await db.query("SELECT id FROM orders")).rows).toEqual([{ id: "committed" }]);
  });

  it("lists sagas newest first with filters and cursors, and gets one with its timeline", async () => {
    const db = await freshDb();
    const ok = defineSaga({
      name: "ok",
      steps: [{ name: "a", action: async (ctx) => env.down.apply(ctx) }],
    });
    const bad = defineSaga({
      name: "bad",
      steps: [
        {
          name: "a",
          action: async (ctx) => env.down.apply(ctx),
          compensation: async (ctx) => void env.down.apply(ctx),
        },
        {
          name: "b",
          action: async () => {
            throw declined();
          },
          isBusinessFailure: () => true,
        },
      ],
    });
    const orchestrator = orchestrate(db, [ok, bad]);
    const ids = ["s1", "s2", "s3", "s4", "s5"];
    for (const [i, id] of ids.entries()) {
      env.clock.advance(1);
      await orchestrator.start(i % 2 === 0 ? "ok" : "bad", { i }, { id });
      await orchestrator.settled(id);
    }

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await orchestrator.list({ limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(seen).toEqual(["s5", "s4", "s3", "s2", "s1"]);
    expect(pages).toBe(3);

    const compensated = await orchestrator.list({ status: "COMPENSATED" });
    expect(compensated.items.map((s) => s.id)).toEqual(["s4", "s2"]);
    expect(compensated.items[0]).toMatchObject({ type: "bad", failureReason: "PAYMENT_DECLINED" });
    expect((await orchestrator.list({ type: "ok", limit: 1000 })).items.map((s) => s.id)).toEqual([
      "s5",
      "s3",
      "s1",
    ]);
    await expect(orchestrator.list({ cursor: "garbage" })).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
    await expect(orchestrator.list({ limit: 0 })).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });

    const view = await orchestrator.get("s2");
    expect(view).toMatchObject({ id: "s2", type: "bad", status: "COMPENSATED", input: { i: 1 } });
    expect(view?.steps.map((s) => [s.step, s.phase, s.outcome, s.idempotencyKey])).toEqual([
      ["a", "action", "SUCCEEDED", "s2:a:action"],
      ["b", "action", "FAILED", "s2:b:action"],
      ["a", "compensation", "SUCCEEDED", "s2:a:compensation"],
    ]);
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
    expect(await orchestrator.get("missing")).toBeUndefined();
  });

  it("bounds how many sagas execute at once", async () => {
    const db = await freshDb();
    const gate = deferred();
    let inFlight = 0;
    let peak = 0;
    const saga = defineSaga({
      name: "bounded",
      steps: [
        {
          name: "a",
          action: async () => {
            inFlight++;
            peak = Math.max(peak, inFlight);
            await gate.promise;
            inFlight--;
          },
        },
      ],
    });
    const orchestrator = orchestrate(db, [saga], { maxConcurrent: 2 });
    for (let i = 0; i < 5; i++) await orchestrator.start("bounded", {}, { id: `b${i}` });
    await eventually(() => inFlight === 2, "two in flight");
    await realTick(20);
    expect(inFlight).toBe(2);
    gate.resolve();
    for (let i = 0; i < 5; i++)
      expect((await orchestrator.settled(`b${i}`)).status).toBe("COMPLETED");
    expect(peak).toBe(2);
  });

  it("closes gracefully: the in-flight step finishes and is persisted, no new step starts", async () => {
    const db = await freshDb();
    const gate = deferred();
    const saga = defineSaga({
      name: "closing",
      steps: [
        {
          name: "a",
          action: async (ctx) => {
            env.down.apply(ctx);
            await gate.promise;
            return "a-done";
          },
        },
        { name: "b", action: async (ctx) => env.down.apply(ctx) },
      ],
    });
    const orchestrator = orchestrate(db, [saga]);
    await orchestrator.start("closing", {}, { id: "c1" });
    const waiting = orchestrator.settled("c1");
    await eventually(() => env.down.calls.length === 1, "step a");
    let closed = false;
    const closing = orchestrator.close().then(() => (closed = true));
    await realTick(20);
    expect(closed).toBe(false);
    gate.resolve();
    await closing;

    await expect(waiting).rejects.toMatchObject({ code: Code.Unavailable });
    await expect(orchestrator.start("closing", {}, { id: "c2" })).rejects.toMatchObject({
      code: Code.Unavailable,
    });
    expect(env.down.trace("c1")).toEqual(["a:action"]);
    const row = await db.query(
      "SELECT status, step_index, outputs, lease_owner FROM plexus_saga_instances WHERE id = 'c1'",
    );
    expect(row.rows).toEqual([
      { status: "RUNNING", step_index: 1, outputs: { a: "a-done" }, lease_owner: null },
    ]);
  });

  it("refuses malformed definitions and unknown types", async () => {
    const db = await freshDb();
    const action = async (): Promise<void> => {};
    expect(() => defineSaga({ name: "empty", steps: [] })).toThrow(/no steps/);
    expect(() =>
      defineSaga({
        name: "dup",
        steps: [
          { name: "a", action },
          { name: "a", action },
        ],
      }),
    ).toThrow(/duplicate step/);
    expect(() => defineSaga({ name: "bad name!", steps: [{ name: "a", action }] })).toThrow(
      /invalid saga name/,
    );
    expect(() => defineSaga({ name: "t", steps: [{ name: "a", action, timeoutMs: 0 }] })).toThrow(
      /timeoutMs/,
    );
    const one = defineSaga({ name: "one", steps: [{ name: "a", action }] });
    expect(() => orchestrate(db, [one, one])).toThrow(/defined twice/);
    expect(() => orchestrate(db, [one], { actionRetry: { maxAttempts: 0 } })).toThrow(
      /maxAttempts/,
    );
    const orchestrator = orchestrate(db, [one]);
    await expect(orchestrator.start("two", {})).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
    await expect(orchestrator.start("one", undefined)).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
  });
});
