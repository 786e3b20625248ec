import {
  Code,
  PlexusError,
  currentContext,
  parseTraceparent,
  runInContext,
  type CallContext,
} from "@plexus/core";
import { describe, expect, it } from "vitest";
import { defineSaga, type StepContext } from "./saga-definition.ts";
import type { SagaStepOutcome, SagaStepTracer, SagaStepTry } from "./saga-step-tracer.ts";
import { deferred, eventually, useSagaTestEnv } from "./saga-test-kit.ts";

const env = useSagaTestEnv({ closeTimeoutMs: 1_000 });

/** The span of the handler that starts the sagas (PlaceOrder's SERVER span). */
const starter: CallContext = {
  correlationId: "corr-1",
  requestId: "req-1",
  trace: parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
};

/** One try as the tracer saw it: what it was told, what ran inside `run`, how it ended. */
interface TracedTry {
  readonly step: SagaStepTry;
  /** The context the step's function ran in, seen from inside `run`. */
  inside?: CallContext | undefined;
  ended?: { outcome: SagaStepOutcome; error: unknown };
}

function recordingTracer(): { tracer: SagaStepTracer; tries: TracedTry[] } {
  const tries: TracedTry[] = [];
  const tracer: SagaStepTracer = (step) => {
    const traced: TracedTry = { step };
    tries.push(traced);
    return {
      run(fn) {
        traced.inside = currentContext();
        return fn();
      },
      end(outcome, error) {
        expect(traced.ended).toBeUndefined(); // once
        traced.ended = { outcome, error };
      },
    };
  };
  return { tracer, tries };
}

const short = (tries: TracedTry[]) =>
  tries.map((t) => `${t.step.step}:${t.step.phase}#${t.step.attempt}=${t.ended?.outcome}`);

describe("tracing saga steps", () => {
  it("traces each try under the span that started the saga, its calls under the try", async () => {
    const db = await env.freshDb();
    const { tracer, tries } = recordingTracer();
    const seen: (CallContext | undefined)[] = [];
    const finished: (CallContext | undefined)[] = [];
    const saga = defineSaga({
      name: "place-order",
      steps: [
        {
          name: "charge",
          retry: { maxAttempts: 3 },
          action: async (ctx: StepContext) => {
            seen.push(currentContext());
            if (ctx.attempt === 1) throw new PlexusError(Code.Unavailable, "payments down");
            return "charged";
          },
        },
      ],
      onCompleted: async () => void finished.push(currentContext()),
    });
    const sagas = env.orchestrate(db, [saga], { traceStep: tracer, serviceName: "orders" });
    await runInContext(starter, () => sagas.start("place-order", {}, { id: "o-1" }));
    expect((await sagas.settled("o-1")).status).toBe("COMPLETED");

    expect(short(tries)).toEqual(["charge:action#1=RETRYING", "charge:action#2=SUCCEEDED"]);
    const [first, second] = tries;
    expect(first?.step).toMatchObject({
      sagaId: "o-1",
      sagaType: "place-order",
      step: "charge",
      phase: "action",
      parent: starter.trace,
    });
    expect(first?.ended?.error).toMatchObject({ code: Code.Unavailable });
    for (const [i, traced] of tries.entries()) {
      expect(traced.step.trace.traceId).toBe(starter.trace?.traceId);
      expect(traced.step.trace.spanId).not.toBe(starter.trace?.spanId);
      // The step ran inside the span, in a context naming the try's own span.
      expect(traced.inside?.trace).toEqual(traced.step.trace);
      expect(seen[i]?.trace).toEqual(traced.step.trace);
      expect(seen[i]).toMatchObject({ correlationId: "corr-1", caller: "orders" });
    }
    expect(second?.step.trace.spanId).not.toBe(first?.step.trace.spanId);
    // The finish hooks write their events in the saga's context: its starter's span.
    expect(finished).toEqual([
      expect.objectContaining({ correlationId: "corr-1", trace: starter.trace }),
    ]);
  });

  it("traces compensations, and a failed action as FAILED", async () => {
    const db = await env.freshDb();
    const { tracer, tries } = recordingTracer();
    const saga = defineSaga({
      name: "place-order",
      steps: [
        {
          name: "reserve",
          action: async () => "reserved",
          compensation: async () => {},
        },
        {
          name: "charge",
          isBusinessFailure: () => true,
          action: async () => {
            throw new PlexusError(Code.FailedPrecondition, "declined");
          },
        },
      ],
    });
    const sagas = env.orchestrate(db, [saga], { traceStep: tracer });
    await runInContext(starter, () => sagas.start("place-order", {}, { id: "o-2" }));
    expect((await sagas.settled("o-2")).status).toBe("COMPENSATED");
    expect(short(tries)).toEqual([
      "reserve:action#1=SUCCEEDED",
      "charge:action#1=FAILED",
      "reserve:compensation#1=SUCCEEDED",
    ]);
    expect(tries.map((t) => t.step.parent)).toEqual([starter.trace, starter.trace, starter.trace]);
  });

  it("keeps a resumed saga in its starter's trace, the abandoned try INTERRUPTED", async () => {
    const db = await env.freshDb();
    const hang = deferred<unknown>();
    const saga = defineSaga({
      name: "place-order",
      steps: [
        {
          name: "charge",
          action: async (ctx: StepContext) => (ctx.attempt === 1 ? hang.promise : "charged"),
        },
      ],
    });
    const before = recordingTracer();
    const first = env.orchestrate(db, [saga], { traceStep: before.tracer, owner: "first" });
    await runInContext(starter, () => first.start("place-order", {}, { id: "o-3" }));
    await eventually(() => before.tries[0]?.inside, "the first try");
    const closing = first.close();
    env.clock.advance(1_000); // past closeTimeoutMs: the try is abandoned
    await closing;
    expect(short(before.tries)).toEqual(["charge:action#1=INTERRUPTED"]);
    expect(before.tries[0]?.ended?.error).toMatchObject({ code: Code.Canceled });

    const after = recordingTracer();
    const second = env.orchestrate(db, [saga], { traceStep: after.tracer, owner: "second" });
    expect(await second.resumeAll()).toBe(1); // outside any context
    expect((await second.settled("o-3")).status).toBe("COMPLETED");
    expect(short(after.tries)).toEqual(["charge:action#2=SUCCEEDED"]);
    expect(after.tries[0]?.step.parent).toEqual(starter.trace);
    expect(after.tries[0]?.step.trace.traceId).toBe(starter.trace?.traceId);
  });

  it("gives the tries of a saga started outside any trace a trace each, and runs without a tracer", async () => {
    const db = await env.freshDb();
    const seen: (CallContext | undefined)[] = [];
    const saga = defineSaga({
      name: "cleanup",
      steps: [{ name: "sweep", action: async () => void seen.push(currentContext()) }],
    });
    const sagas = env.orchestrate(db, [saga]);
    await sagas.start("cleanup", {}, { id: "c-1" });
    expect((await sagas.settled("c-1")).status).toBe("COMPLETED");
    expect(seen[0]?.trace?.traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});
