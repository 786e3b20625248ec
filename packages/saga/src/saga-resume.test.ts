import { Code, PlexusError, type Db } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { defineSaga, type SagaDefinition, type StepContext } from "./saga-definition.ts";
import type { SagaOrchestrator, SagaOrchestratorOptions } from "./saga-orchestrator.ts";
import { deferred, eventually, realTick, timeline, useSagaTestEnv } from "./saga-test-kit.ts";

/*
 * Resuming from every persisted state. A crash is simulated by closing an orchestrator while a
 * step hangs (past `closeTimeoutMs` it abandons the try without persisting its outcome), or by
 * writing the row a dead process would have left, then starting a new orchestrator on the same
 * database.
 */

const env = useSagaTestEnv({ closeTimeoutMs: 1_000 });
const { epoch, freshDb } = env;

function orchestrate(
  db: Db,
  definitions: readonly SagaDefinition[],
  owner: string,
  extra: Partial<SagaOrchestratorOptions> = {},
): SagaOrchestrator {
  return env.orchestrate(db, definitions, { owner, ...extra });
}

/** Closes `orchestrator` while a try hangs: the close bound passes on the clock, the try is abandoned. */
async function crash(orchestrator: SagaOrchestrator): Promise<void> {
  const closing = orchestrator.close(); // registers its bound on the clock synchronously
  env.clock.advance(1_000);
  await closing;
}

async function row(db: Db, id: string) {
  const result = await db.query(
    `SELECT status, step_index, lease_owner, version FROM plexus_saga_instances WHERE id = $1`,
    [id],
  );
  return result.rows[0];
}

const step = (
  name: string,
  action: (ctx: StepContext) => Promise<unknown> = async (ctx) => env.down.apply(ctx),
  compensation: ((ctx: StepContext) => Promise<void>) | null = async (ctx) => {
    env.down.apply(ctx);
  },
) => ({
  name,
  action,
  ...(compensation ? { compensation } : {}),
});

const declined = (): PlexusError =>
  new PlexusError(Code.FailedPrecondition, "declined", { reason: "PAYMENT_DECLINED" });

describe("resuming sagas", () => {
  it("re-runs a step whose start was logged but whose outcome was not, with the same key", async () => {
    const db = await freshDb();
    const hang = deferred<unknown>();
    const saga = defineSaga({
      name: "s",
      steps: [
        step("a"),
        step("b", async (ctx) => {
          const result = env.down.apply(ctx, "b-out");
          return ctx.attempt === 1 ? hang.promise : result;
        }),
      ],
    });
    const first = orchestrate(db, [saga], "first");
    await first.start("s", {}, { id: "r1" });
    await eventually(() => env.down.calls.length === 2, "step b's first try");
    await crash(first);

    expect(await row(db, "r1")).toMatchObject({
      status: "RUNNING",
      step_index: 1,
      lease_owner: null,
    });
    expect(timeline(await first.get("r1"))).toEqual(["a:action#1=SUCCEEDED", "b:action#1=null"]);

    const second = orchestrate(db, [saga], "second");
    expect(await second.resumeAll()).toBe(1);
    const view = await second.settled("r1");
    expect(view.status).toBe("COMPLETED");
    expect(view.outputs).toEqual({ a: "a-result", b: "b-out" });
    expect(timeline(view)).toEqual([
      "a:action#1=SUCCEEDED",
      "b:action#1=INTERRUPTED",
      "b:action#2=SUCCEEDED",
    ]);
    expect(env.down.trace("r1")).toEqual(["a:action", "b:action", "b:action"]);
    expect(env.down.calls.slice(1).map((c) => c.key)).toEqual(["r1:b:action", "r1:b:action"]);
    expect(env.down.effects("r1")).toEqual(["r1:a:action", "r1:b:action"]);

    // The abandoned try answering late changes nothing.
    hang.resolve("late");
    await realTick(20);
    expect(await second.get("r1")).toEqual(view);
  });

  it("continues with the next step when it stopped between steps", async () => {
    const db = await freshDb();
    const gate = deferred();
    const saga = defineSaga({
      name: "s",
      steps: [
        step("a", async (ctx) => {
          env.down.apply(ctx);
          await gate.promise;
        }),
        step("b"),
      ],
    });
    const first = orchestrate(db, [saga], "first");
    await first.start("s", {}, { id: "r2" });
    await eventually(() => env.down.calls.length === 1, "step a");
    const closing = first.close();
    gate.resolve(); // finishes within the close bound: its outcome is persisted
    await closing;
    expect(await row(db, "r2")).toMatchObject({
      status: "RUNNING",
      step_index: 1,
      lease_owner: null,
    });

    const second = orchestrate(db, [saga], "second");
    await second.resumeAll();
    const view = await second.settled("r2");
    expect(view.status).toBe("COMPLETED");
    expect(env.down.trace("r2")).toEqual(["a:action", "b:action"]);
    expect(timeline(view)).toEqual(["a:action#1=SUCCEEDED", "b:action#1=SUCCEEDED"]);
  });

  it("continues a step that was waiting to retry, numbering tries on", async () => {
    const db = await freshDb();
    const saga = defineSaga({
      name: "s",
      steps: [
        step("a", async (ctx) => {
          env.down.apply(ctx);
          if (ctx.attempt === 1) throw new PlexusError(Code.Unavailable, "down");
        }),
      ],
    });
    const first = orchestrate(db, [saga], "first", {
      actionRetry: { initialDelayMs: 60_000 },
      random: () => 0.5,
    });
    await first.start("s", {}, { id: "r3" });
    // + heartbeat and the first try's deadline slot (shared, armed until its time)
    await eventually(() => env.clock.pendingTimers() === 3, "the backoff sleep");
    await first.close(); // the sleep is cut short; nothing is in flight
    expect(await row(db, "r3")).toMatchObject({
      status: "RUNNING",
      step_index: 0,
      lease_owner: null,
    });

    const second = orchestrate(db, [saga], "second");
    await second.resumeAll();
    const view = await second.settled("r3");
    expect(view.status).toBe("COMPLETED");
    expect(timeline(view)).toEqual(["a:action#1=RETRYING", "a:action#2=SUCCEEDED"]);
    expect(new Set(env.down.calls.map((c) => c.key))).toEqual(new Set(["r3:a:action"]));
  });

  it("re-runs an interrupted compensation with the same key and finishes compensating", async () => {
    const db = await freshDb();
    const hang = deferred();
    const saga = defineSaga({
      name: "s",
      steps: [
        step("a", undefined, async (ctx) => {
          env.down.apply(ctx);
          if (ctx.attempt === 1) await hang.promise;
        }),
        step(
          "b",
          async (ctx) => {
            env.down.record(ctx);
            throw declined();
          },
          null,
        ),
      ].map((s) => ({ ...s, isBusinessFailure: () => true })),
    });
    const first = orchestrate(db, [saga], "first");
    await first.start("s", {}, { id: "r4" });
    await eventually(() => env.down.calls.length === 3, "a's compensation");
    await crash(first);
    expect(await row(db, "r4")).toMatchObject({ status: "COMPENSATING", step_index: 0 });

    const second = orchestrate(db, [saga], "second");
    await second.resumeAll();
    const view = await second.settled("r4");
    expect(view.status).toBe("COMPENSATED");
    expect(view.failureReason).toBe("PAYMENT_DECLINED");
    expect(timeline(view)).toEqual([
      "a:action#1=SUCCEEDED",
      "b:action#1=FAILED",
      "a:compensation#1=INTERRUPTED",
      "a:compensation#2=SUCCEEDED",
    ]);
    expect(env.down.calls.filter((c) => c.phase === "compensation").map((c) => c.key)).toEqual([
      "r4:a:compensation",
      "r4:a:compensation",
    ]);
    expect(env.down.effects("r4")).toEqual(["r4:a:action", "r4:a:compensation"]);
  });

  describe("rows left by a dead process", () => {
    const three = defineSaga({
      name: "three",
      steps: [step("a"), step("b"), step("c")],
      onCompleted: async ({ tx, saga }) => {
        await tx.query("INSERT INTO finished VALUES ($1)", [saga.id]);
      },
    });

    async function leave(
      db: Db,
      id: string,
      status: string,
      stepIndex: number,
      leaseUntil: number | null,
      type = "three",
    ): Promise<void> {
      await db.query(
        `INSERT INTO plexus_saga_instances (id, type, status, input, outputs, step_index,
           resume_status, failure, failure_reason, correlation_id, version, lease_owner,
           lease_until, created_at, updated_at)
         VALUES ($1, $7, $2, '{}'::jsonb, '{"a": "a-result", "b": "b-result"}'::jsonb, $3, $4,
           $5::jsonb, $6, 'corr-dead', 7, 'dead-process', $8, now(), now())`,
        [
          id,
          status,
          stepIndex,
          status === "NEEDS_ATTENTION" ? "COMPENSATING" : null,
          status === "RUNNING" || status === "COMPLETED"
            ? null
            : JSON.stringify({ step: "c", stepIndex: 2, phase: "action", kind: "business" }),
          status === "RUNNING" || status === "COMPLETED" ? null : "PAYMENT_DECLINED",
          type,
          leaseUntil,
        ],
      );
    }

    it("continues compensating a saga left COMPENSATING, in reverse, actions untouched", async () => {
      const db = await freshDb("CREATE TABLE finished (id text)");
      await leave(db, "d1", "COMPENSATING", 1, epoch - 1);
      const orchestrator = orchestrate(db, [three], "new");
      expect(await orchestrator.resumeAll()).toBe(1);
      const view = await orchestrator.settled("d1");
      expect(view.status).toBe("COMPENSATED");
      expect(view.correlationId).toBe("corr-dead");
      expect(env.down.trace("d1")).toEqual(["b:compensation", "a:compensation"]);
    });

    it("finishes a saga whose steps all ran but whose completion was not written", async () => {
      const db = await freshDb("CREATE TABLE finished (id text)");
      await leave(db, "d2", "RUNNING", 3, null);
      const orchestrator = orchestrate(db, [three], "new");
      await orchestrator.resumeAll();
      expect((await orchestrator.settled("d2")).status).toBe("COMPLETED");
      expect(env.down.trace("d2")).toEqual([]);
      expect((await db.query("SELECT id FROM finished")).rows).toEqual([{ id: "d2" }]);
    });

    it("on an exclusive database, takes over a dead process's saga at once, lease or not", async () => {
      const db = await freshDb("CREATE TABLE finished (id text)");
      expect(db.exclusive).toBe(true); // PGlite: no other process can hold a lease in it
      await leave(db, "d5", "RUNNING", 1, epoch + 30_000);
      const orchestrator = orchestrate(db, [three], "new");
      expect(await orchestrator.resumeAll()).toBe(1);
      expect((await orchestrator.settled("d5")).status).toBe("COMPLETED");
      expect(env.clock.now()).toBe(epoch);
      expect(env.down.trace("d5")).toEqual(["b:action", "c:action"]);
    });

    it("on an exclusive database, still leaves alone a saga a live orchestrator here holds", async () => {
      const db = await freshDb("CREATE TABLE finished (id text)");
      const gate = deferred();
      const gated = defineSaga({
        ...three,
        steps: [
          step("a", async (ctx) => {
            env.down.apply(ctx);
            await gate.promise;
          }),
          step("b"),
        ],
      });
      const holder = orchestrate(db, [gated], "holder");
      await holder.start("three", {}, { id: "d6" });
      await eventually(() => env.down.calls.length === 1, "step a");
      const other = orchestrate(db, [gated], "other");
      expect(await other.resumeAll()).toBe(0);
      expect(await other.start("three", {}, { id: "d6" })).toEqual({ id: "d6", created: false });
      await realTick(20);
      expect(await row(db, "d6")).toMatchObject({ status: "RUNNING", lease_owner: "holder" });
      gate.resolve();
      expect((await holder.settled("d6")).status).toBe("COMPLETED");
      expect(env.down.trace("d6")).toEqual(["a:action", "b:action"]);
    });

    it("on a shared database, leaves a saga alone while its holder's lease lasts, and takes it over after", async () => {
      // What Postgres reports: another live process may hold the lease.
      const db: Db = { ...(await freshDb("CREATE TABLE finished (id text)")), exclusive: false };
      await leave(db, "d3", "RUNNING", 1, epoch + 30_000);
      const orchestrator = orchestrate(db, [three], "new", { pollIntervalMs: 5_000 });
      expect(await orchestrator.resumeAll()).toBe(0);
      await realTick(20);
      expect(env.down.trace("d3")).toEqual([]);
      await eventually(async () => {
        env.clock.advance(1_000); // polls every 5 s; the lease runs out at +30 s
        return (await row(db, "d3"))?.["status"] === "COMPLETED";
      }, "the takeover");
      expect(env.clock.now()).toBeGreaterThan(epoch + 30_000);
      expect(env.down.trace("d3")).toEqual(["b:action", "c:action"]);
    });

    it("does not resume terminal or parked sagas, and parks one of an unknown type", async () => {
      const db = await freshDb("CREATE TABLE finished (id text)");
      await leave(db, "done", "COMPLETED", 3, null);
      await leave(db, "undone", "COMPENSATED", -1, null);
      await leave(db, "parked", "NEEDS_ATTENTION", 0, null);
      await leave(db, "alien", "RUNNING", 0, null, "retired-saga");
      const orchestrator = orchestrate(db, [three], "new");
      expect(await orchestrator.resumeAll()).toBe(1);
      const alien = await orchestrator.settled("alien");
      expect(alien.status).toBe("NEEDS_ATTENTION");
      expect(alien.resumeStatus).toBe("RUNNING");
      expect(alien.attention?.message).toContain('unknown saga type "retired-saga"');
      for (const id of ["done", "undone", "parked"]) {
        expect(await row(db, id)).toMatchObject({ version: 7 });
      }
      expect(env.down.calls).toEqual([]);
    });
  });

  it("refuses the writes of an executor whose lease was taken over", async () => {
    const db = await freshDb();
    const hang = deferred<unknown>();
    const saga = defineSaga({
      name: "s",
      steps: [
        step("a", async (ctx) => {
          const result = env.down.apply(ctx, "a-out");
          return ctx.attempt === 1 ? hang.promise : result;
        }),
        step("b"),
      ],
    });
    const stalled = orchestrate(db, [saga], "stalled");
    await stalled.start("s", {}, { id: "r9" });
    await eventually(() => env.down.calls.length === 1, "the first try");
    // The stalled process missed its renewals: its lease ran out.
    await db.query("UPDATE plexus_saga_instances SET lease_until = 0 WHERE id = 'r9'");

    const other = orchestrate(db, [saga], "other");
    expect(await other.resumeAll()).toBe(1);
    const view = await other.settled("r9");
    expect(view.status).toBe("COMPLETED");

    hang.resolve("stale"); // the stalled executor wakes up and tries to write its outcome
    await realTick(50);
    expect(await other.get("r9")).toEqual(view);
    expect(timeline(view)).toEqual([
      "a:action#1=INTERRUPTED",
      "a:action#2=SUCCEEDED",
      "b:action#1=SUCCEEDED",
    ]);
    expect(view.outputs).toEqual({ a: "a-out", b: "b-result" });
    expect(env.down.effects("r9")).toEqual(["r9:a:action", "r9:b:action"]);
  });
});
