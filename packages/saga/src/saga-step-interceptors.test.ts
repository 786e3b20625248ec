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
import type { SagaStepCall, SagaStepInterceptor, SagaStepResult } from "./saga-step-call.ts";
import { deferred, eventually, useSagaTestEnv } from "./saga-test-kit.ts";

const env = useSagaTestEnv({ closeTimeoutMs: 1_000 });

/** The span of the handler that starts the sagas (PlaceOrder's SERVER span). */
const starter: CallContext = {
  correlationId: "corr-1",
  requestId: "req-1",
  trace: parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
};

/** One try as an interceptor saw it: its call, and the result it ended with. */
interface TracedTry {
  readonly step: SagaStepCall;
  ended?: SagaStepResult;
}

function recordingInterceptor(): { interceptor: SagaStepInterceptor; tries: TracedTry[] } {
  const tries: TracedTry[] = [];
  const interceptor: SagaStepInterceptor = (next) => async (call) => {
    const traced: TracedTry = { step: call };
    tries.push(traced);
    traced.ended = await next(call);
    return traced.ended;
  };
  return { interceptor, tries };
}

const errorOf = (result: SagaStepResult | undefined): unknown =>
  result && "error" in result ? result.error : undefined;

const short = (tries: TracedTry[]) =>
  tries.map((t) => `${t.step.step}:${t.step.phase}#${t.step.attempt}=${t.ended?.outcome}`);

describe("saga step interceptors", () => {
  it("run around each try, under the span that started the saga, its calls under the try", async () => {
    const db = await env.freshDb();
    const { interceptor, tries } = recordingInterceptor();
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
    const sagas = env.orchestrate(db, [saga], {
      interceptors: [interceptor],
      serviceName: "orders",
    });
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
    expect(errorOf(first?.ended)).toMatchObject({ code: Code.Unavailable });
    expect(second?.ended).toEqual({ outcome: "SUCCEEDED", output: "charged" });
    for (const [i, traced] of tries.entries()) {
      expect(traced.step.trace.traceId).toBe(starter.trace?.traceId);
      expect(traced.step.trace.spanId).not.toBe(starter.trace?.spanId);
      // The step ran in a context naming the try's own span.
      expect(seen[i]?.trace).toEqual(traced.step.trace);
      expect(seen[i]).toMatchObject({ correlationId: "corr-1", caller: "orders" });
    }
    expect(second?.step.trace.spanId).not.toBe(first?.step.trace.spanId);
    // The finish hooks write their events in the saga's context: its starter's span.
    expect(finished).toEqual([
      expect.objectContaining({ correlationId: "corr-1", trace: starter.trace }),
    ]);
  });

  it("run around compensations, and see a failed action as FAILED", async () => {
    const db = await env.freshDb();
    const { interceptor, tries } = recordingInterceptor();
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
    const sagas = env.orchestrate(db, [saga], { interceptors: [interceptor] });
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
    let entered = false;
    const saga = defineSaga({
      name: "place-order",
      steps: [
        {
          name: "charge",
          action: async (ctx: StepContext) => {
            entered = true;
            return ctx.attempt === 1 ? hang.promise : "charged";
          },
        },
      ],
    });
    const before = recordingInterceptor();
    const first = env.orchestrate(db, [saga], {
      interceptors: [before.interceptor],
      owner: "first",
    });
    await runInContext(starter, () => first.start("place-order", {}, { id: "o-3" }));
    await eventually(() => entered, "the first try");
    const closing = first.close();
    env.clock.advance(1_000); // past closeTimeoutMs: the try is abandoned
    await closing;
    expect(short(before.tries)).toEqual(["charge:action#1=INTERRUPTED"]);
    expect(errorOf(before.tries[0]?.ended)).toMatchObject({ code: Code.Canceled });

    const after = recordingInterceptor();
    const second = env.orchestrate(db, [saga], {
      interceptors: [after.interceptor],
      owner: "second",
    });
    expect(await second.resumeAll()).toBe(1); // outside any context
    expect((await second.settled("o-3")).status).toBe("COMPLETED");
    expect(short(after.tries)).toEqual(["charge:action#2=SUCCEEDED"]);
    expect(after.tries[0]?.step.parent).toEqual(starter.trace);
    expect(after.tries[0]?.step.trace.traceId).toBe(starter.trace?.traceId);
  });

  it("gives the tries of a saga started outside any trace a trace each, and runs without interceptors", async () => {
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

  it("run the first listed outermost", async () => {
    const db = await env.freshDb();
    const log: string[] = [];
    const logged =
      (name: string): SagaStepInterceptor =>
      (next) =>
      async (call) => {
        log.push(`>${name}`);
        const result = await next(call);
        log.push(`<${name}`);
        return result;
      };
    const saga = defineSaga({
      name: "cleanup",
      steps: [{ name: "sweep", action: async () => void log.push("sweep") }],
    });
    const sagas = env.orchestrate(db, [saga], { interceptors: [logged("outer"), logged("inner")] });
    await sagas.start("cleanup", {}, { id: "c-2" });
    expect((await sagas.settled("c-2")).status).toBe("COMPLETED");
    expect(log).toEqual([">outer", ">inner", "sweep", "<inner", "<outer"]);
  });

  it("an interceptor may answer for a try: its result is what the saga records", async () => {
    const db = await env.freshDb();
    let charged = 0;
    const saga = defineSaga({
      name: "place-order",
      steps: [{ name: "charge", action: async () => ++charged }],
    });
    const stub: SagaStepInterceptor = (next) => async (call) =>
      call.step === "charge" ? { outcome: "SUCCEEDED", output: "stubbed" } : next(call);
    const sagas = env.orchestrate(db, [saga], { interceptors: [stub] });
    await sagas.start("place-order", {}, { id: "o-4" });
    const view = await sagas.settled("o-4");
    expect(view.status).toBe("COMPLETED");
    expect(view.outputs).toEqual({ charge: "stubbed" });
    expect(charged).toBe(0);
  });

  it("an interceptor that throws fails the try as the step would: retried under its policy", async () => {
    const db = await env.freshDb();
    let refusals = 1;
    const refuseOnce: SagaStepInterceptor = (next) => async (call) => {
      if (refusals-- > 0) throw new PlexusError(Code.Unavailable, "rate limited");
      return next(call);
    };
    const saga = defineSaga({
      name: "place-order",
      steps: [{ name: "charge", action: async (ctx: StepContext) => `charged #${ctx.attempt}` }],
    });
    const sagas = env.orchestrate(db, [saga], { interceptors: [refuseOnce] });
    await sagas.start("place-order", {}, { id: "o-5" });
    const view = await sagas.settled("o-5");
    expect(view.status).toBe("COMPLETED");
    expect(view.outputs).toEqual({ charge: "charged #2" });
    expect(view.steps.map((s) => [s.attempt, s.outcome, s.error?.message])).toEqual([
      [1, "RETRYING", "rate limited"],
      [2, "SUCCEEDED", undefined],
    ]);
  });

  it("an interceptor that throws a non-retryable error fails the step for good", async () => {
    const db = await env.freshDb();
    const refuse: SagaStepInterceptor = () => async () => {
      throw new PlexusError(Code.PermissionDenied, "not allowed");
    };
    const saga = defineSaga({
      name: "place-order",
      steps: [{ name: "charge", action: async () => "charged" }],
    });
    const sagas = env.orchestrate(db, [saga], { interceptors: [refuse] });
    await sagas.start("place-order", {}, { id: "o-6" });
    const view = await sagas.settled("o-6");
    expect(view.status).toBe("COMPENSATED");
    expect(view.steps.map((s) => [s.attempt, s.outcome])).toEqual([[1, "FAILED"]]);
  });
});
