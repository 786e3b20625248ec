import { Code, PlexusError, type Db } from "@plexus/core";
import type { Storage } from "@plexus/storage";
import { createFakeClock } from "@plexus/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineSaga, type SagaDefinition, type StepContext } from "./saga-definition.ts";
import { createSagaOrchestrator, type SagaOrchestrator } from "./saga-orchestrator.ts";
import {
  SagaStatus,
  allSagaStatuses,
  canTransition,
  isTerminalStatus,
  type SagaStatus as Status,
} from "./saga-status.ts";
import { deferred, FakeDownstream, openTestStorage, type Deferred } from "./saga-test-kit.ts";
import type { SagaView } from "./saga-view.ts";

/*
 * The state machine under random scripts: every try of every action and compensation has a
 * scripted outcome, including "crash" (the effect happens, then the process dies: the
 * orchestrator is destroyed mid-try and a new one resumes). Whatever the script, a saga ends
 * COMPLETED, or COMPENSATED once an operator retried it out of NEEDS_ATTENTION; the completed
 * steps are compensated exactly once each, in reverse; and nothing moves a terminal saga again.
 */

type ActionOutcome = "ok" | "transient" | "business" | "fatal" | "crash";
type CompensationOutcome = "ok" | "fail" | "crash";
interface StepScript {
  action: ActionOutcome[];
  compensation: CompensationOutcome[];
  hasCompensation: boolean;
}
type Scenario = StepScript[];

/** SAGA_PROPERTY_RUNS=1000 for a longer hunt. */
const runs = Number(process.env["SAGA_PROPERTY_RUNS"] ?? 60);
const actionTries = 3;
const compensationTries = 2;
const maxSteps = 4;

const actionOutcome = fc.oneof(
  { arbitrary: fc.constant<ActionOutcome>("ok"), weight: 5 },
  {
    arbitrary: fc.constantFrom<ActionOutcome>("transient", "business", "fatal", "crash"),
    weight: 3,
  },
);
const compensationOutcome = fc.oneof(
  { arbitrary: fc.constant<CompensationOutcome>("ok"), weight: 3 },
  { arbitrary: fc.constantFrom<CompensationOutcome>("fail", "crash"), weight: 2 },
);
const scenarios: fc.Arbitrary<Scenario> = fc.array(
  fc.record({
    action: fc.array(actionOutcome, { maxLength: 5 }),
    compensation: fc.array(compensationOutcome, { maxLength: 5 }),
    hasCompensation: fc.boolean(),
  }),
  { minLength: 1, maxLength: maxSteps },
);

const typeOf = (scenario: Scenario): string =>
  `p${scenario.length}_${scenario.map((s) => (s.hasCompensation ? 1 : 0)).join("")}`;

/** Which step fails and how, under the orchestrator's rules (a crash starts a fresh budget). */
function expectedFailure(scenario: Scenario): { step: number; kind: string } | undefined {
  for (const [index, step] of scenario.entries()) {
    let tries = 0;
    for (let attempt = 1; ; attempt++) {
      tries++;
      const outcome = step.action[attempt - 1] ?? "ok";
      if (outcome === "ok") break;
      if (outcome === "crash") tries = 0;
      else if (outcome === "business") return { step: index, kind: "business" };
      else if (outcome === "fatal") return { step: index, kind: "fatal" };
      else if (tries >= actionTries) return { step: index, kind: "exhausted" };
    }
  }
  return undefined;
}

let storage: Storage;
let db: Db;
const down = new FakeDownstream();
const clock = createFakeClock(Date.UTC(2030, 0, 1));
/** Resolved by a try scripted to crash; the driver then "kills the process". */
let crashed: Deferred<void> = deferred();
const hookCalls = new Map<string, Status[]>();

function hang(ctx: StepContext): Promise<never> {
  crashed.resolve();
  return new Promise((_, reject) => {
    ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error), { once: true });
  });
}

function makeStep(index: number, hasCompensation: boolean) {
  return {
    name: `s${index}`,
    action: async (ctx: StepContext<Scenario>): Promise<unknown> => {
      const outcome = ctx.input[index]?.action[ctx.attempt - 1] ?? "ok";
      if (outcome === "ok") return down.apply(ctx, index);
      if (outcome === "crash") {
        down.apply(ctx, index);
        return hang(ctx);
      }
      down.record(ctx);
      if (outcome === "business") {
        throw new PlexusError(Code.FailedPrecondition, "refused", { reason: "BIZ" });
      }
      if (outcome === "fatal") throw new PlexusError(Code.InvalidArgument, "bad request");
      throw new PlexusError(Code.Unavailable, "flaky");
    },
    isBusinessFailure: (error: PlexusError) => error.reason === "BIZ",
    ...(hasCompensation
      ? {
          compensation: async (ctx: StepContext<Scenario>): Promise<void> => {
            const outcome = ctx.input[index]?.compensation[ctx.attempt - 1] ?? "ok";
            if (outcome === "fail") {
              down.record(ctx);
              throw new Error("undo failed");
            }
            down.apply(ctx);
            if (outcome === "crash") await hang(ctx);
          },
        }
      : {}),
  };
}

/** One definition per (step count, which steps have a compensation). */
const definitions: SagaDefinition<Scenario>[] = [];
for (let n = 1; n <= maxSteps; n++) {
  for (let mask = 0; mask < 2 ** n; mask++) {
    const has = Array.from({ length: n }, (_, i) => (mask >> i) % 2 === 1);
    definitions.push(
      defineSaga<Scenario>({
        name: `p${n}_${has.map((h) => (h ? 1 : 0)).join("")}`,
        steps: has.map((h, i) => makeStep(i, h)),
      }),
    );
  }
}

function orchestrator(): SagaOrchestrator {
  const record = (status: Status) => async (event: { saga: SagaView }) => {
    const calls = hookCalls.get(event.saga.id) ?? [];
    calls.push(status);
    hookCalls.set(event.saga.id, calls);
  };
  return createSagaOrchestrator({
    db,
    definitions,
    clock,
    pollIntervalMs: 0,
    actionRetry: { maxAttempts: actionTries, initialDelayMs: 0 },
    compensationRetry: { maxAttempts: compensationTries, initialDelayMs: 0 },
    onCompleted: record(SagaStatus.Completed),
    onCompensated: record(SagaStatus.Compensated),
    onNeedsAttention: record(SagaStatus.NeedsAttention),
  });
}

/** Splits calls into runs of the same step: [[step, outcome-of-last-call], ...]. */
function runsOf(calls: { step: string; attempt: number }[]): { step: number; last: number }[] {
  const runs: { step: number; last: number }[] = [];
  for (const call of calls) {
    const step = Number(call.step.slice(1));
    const run = runs.at(-1);
    if (run?.step === step) run.last = call.attempt;
    else runs.push({ step, last: call.attempt });
  }
  return runs;
}

let sagaCounter = 0;

beforeAll(async () => {
  const opened = await openTestStorage();
  storage = opened.storage;
  db = await opened.freshDb();
});
afterAll(() => storage.close());

describe("saga state machine", () => {
  it("allows no transition out of a terminal state", () => {
    for (const from of allSagaStatuses) {
      for (const to of allSagaStatuses) {
        if (isTerminalStatus(from)) expect(canTransition(from, to)).toBe(false);
      }
    }
    expect(canTransition("NEEDS_ATTENTION", "COMPLETED")).toBe(false);
    expect(canTransition("COMPENSATING", "RUNNING")).toBe(false);
  });

  it(
    "settles every random script legally: compensations exactly once, in reverse; terminal is final",
    async () => {
      await fc.assert(
        fc.asyncProperty(scenarios, async (scenario) => {
          const id = `prop-${++sagaCounter}`;
          const n = scenario.length;
          crashed = deferred();
          let current = orchestrator();
          let view: SagaView;
          let crashes = 0;
          let retries = 0;
          try {
            await current.start(typeOf(scenario), scenario, { id });
            for (;;) {
              const next = await Promise.race([
                current.settled(id).then((v) => ({ view: v })),
                crashed.promise.then(() => ({ view: undefined })),
              ]);
              if (next.view === undefined) {
                crashes++;
                await current.destroy();
                crashed = deferred();
                current = orchestrator();
                expect(await current.resumeAll()).toBe(1);
                continue;
              }
              view = next.view;
              if (view.status !== SagaStatus.NeedsAttention) break;
              expect(view.resumeStatus).toBe(SagaStatus.Compensating);
              expect(view.attention?.phase).toBe("compensation");
              retries++;
              expect(retries).toBeLessThan(30);
              await current.retry(id);
            }

            const failure = expectedFailure(scenario);
            const calls = down.calls.filter((c) => c.sagaId === id);
            for (const call of calls) expect(call.key).toBe(`${id}:${call.step}:${call.phase}`);
            const firstUndo = calls.findIndex((c) => c.phase === "compensation");
            const actions = calls.filter((c) => c.phase === "action");
            const undos = calls.filter((c) => c.phase === "compensation");
            if (firstUndo >= 0) {
              expect(calls.slice(firstUndo).every((c) => c.phase === "compensation")).toBe(true);
            }
            // Every try is logged with an outcome, numbered 1..k per half-step.
            const numbering = new Map<string, number>();
            for (const attempt of view.steps) {
              expect(attempt.outcome).not.toBeNull();
              const key = `${attempt.stepIndex}:${attempt.phase}`;
              expect(attempt.attempt).toBe((numbering.get(key) ?? 0) + 1);
              numbering.set(key, attempt.attempt);
            }
            // Actions ran step after step, each (but the failing one) until a success.
            const actionRuns = runsOf(actions);
            const lastStep = failure?.step ?? n - 1;
            expect(actionRuns.map((r) => r.step)).toEqual(
              Array.from({ length: lastStep + 1 }, (_, i) => i),
            );
            for (const run of actionRuns) {
              const outcome = scenario[run.step]?.action[run.last - 1] ?? "ok";
              if (run.step < lastStep || !failure) expect(outcome).toBe("ok");
            }

            if (!failure) {
              expect(view.status).toBe(SagaStatus.Completed);
              expect(view.stepIndex).toBe(n);
              expect(view.failure).toBeNull();
              expect(undos).toEqual([]);
              expect(Object.keys(view.outputs).sort()).toEqual(scenario.map((_, i) => `s${i}`));
            } else {
              expect(view.status).toBe(SagaStatus.Compensated);
              expect(view.stepIndex).toBe(-1);
              expect(view.failure).toMatchObject({ stepIndex: failure.step, kind: failure.kind });
              // Exactly the completed steps (and the failed one, unless it was a clean refusal)
              // that have a compensation, each in one run ending in a success, in reverse order.
              const expected: number[] = [];
              for (let i = failure.step; i >= 0; i--) {
                const undoSelf = i < failure.step || failure.kind !== "business";
                if (undoSelf && scenario[i]?.hasCompensation) expected.push(i);
              }
              const undoRuns = runsOf(undos);
              expect(undoRuns.map((r) => r.step)).toEqual(expected);
              for (const run of undoRuns) {
                expect(scenario[run.step]?.compensation[run.last - 1] ?? "ok").toBe("ok");
              }
              const undone = down.effects(id).filter((k) => k.endsWith(":compensation"));
              expect(undone.sort()).toEqual(expected.map((i) => `${id}:s${i}:compensation`).sort());
            }

            // Hooks: every park, then exactly one terminal hook, last.
            const hooks = hookCalls.get(id) ?? [];
            expect(hooks.at(-1)).toBe(view.status);
            expect(hooks.slice(0, -1).every((s) => s === SagaStatus.NeedsAttention)).toBe(true);
            expect(hooks.filter((s) => s === SagaStatus.NeedsAttention)).toHaveLength(retries);

            // Terminal is final.
            await expect(current.retry(id)).rejects.toMatchObject({
              code: Code.FailedPrecondition,
            });
            expect(await current.resumeAll()).toBe(0);
            expect(await current.get(id)).toEqual(view);
            expect(crashes).toBeLessThanOrEqual(scenario.length * 10);
          } finally {
            await current.destroy();
          }
        }),
        { numRuns: runs },
      );
    },
    20_000 + runs * 500,
  );
});
