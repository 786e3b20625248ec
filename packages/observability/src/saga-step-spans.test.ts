import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { Code, PlexusError, childTraceparent, parseTraceparent } from "@plexus/core";
import type { SagaStepCall, SagaStepResult } from "@plexus/saga";
import { describe, expect, it } from "vitest";
import { useTestTracing } from "./test-tracing.ts";
import { createTracing } from "./tracing.ts";
import { withClientSpan } from "./client-span.ts";
import { sagaStepSpans } from "./saga-step-spans.ts";

/** The span that started the saga (PlaceOrder's SERVER span). */
const starter = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")!;

function chargeTry(attempt: number, parent = starter): SagaStepCall {
  return {
    sagaId: "o-1",
    sagaType: "place-order",
    step: "charge",
    phase: "action",
    attempt,
    trace: childTraceparent(parent),
    parent,
  };
}

const traced = useTestTracing("shop");

/** Runs one try through the interceptor: `inner` stands for the step and its classification. */
function runTry(call: SagaStepCall, inner: () => Promise<SagaStepResult>): Promise<SagaStepResult> {
  return sagaStepSpans(traced.tracing)(inner)(call);
}

describe("sagaStepSpans", () => {
  it("records each try under its own ids, below the saga's starter, above the step's calls", async () => {
    const step = chargeTry(1);
    await runTry(step, async () => {
      await withClientSpan(
        traced.tracing,
        "shop.payments.v1.PaymentsService/Charge",
        {},
        async () => {},
      );
      return { outcome: "SUCCEEDED", output: "charged" };
    });

    await traced.tracing.forceFlush();
    const [call, recorded] = traced.exporter.getFinishedSpans();
    expect(recorded?.name).toBe("place-order/charge action");
    expect(recorded?.kind).toBe(SpanKind.INTERNAL);
    expect(recorded?.spanContext()).toMatchObject({
      traceId: starter.traceId,
      spanId: step.trace.spanId,
    });
    expect(recorded?.parentSpanContext?.spanId).toBe(starter.spanId);
    expect(recorded?.attributes).toEqual({
      "plexus.saga.id": "o-1",
      "plexus.saga.type": "place-order",
      "plexus.saga.step": "charge",
      "plexus.saga.phase": "action",
      "plexus.saga.attempt": 1,
      "plexus.saga.outcome": "SUCCEEDED",
    });
    expect(recorded?.status.code).toBe(SpanStatusCode.UNSET);
    expect(call?.parentSpanContext?.spanId).toBe(step.trace.spanId);
  });

  it("marks a failed try ERROR with its outcome and code", async () => {
    const down = new PlexusError(Code.Unavailable, "payments down");
    await runTry(chargeTry(1), async () => ({
      outcome: "RETRYING",
      error: down,
      delayMs: 100,
      delaySource: "backoff",
    }));
    const declined = new PlexusError(Code.FailedPrecondition, "declined");
    await runTry(chargeTry(2), async () => ({
      outcome: "FAILED",
      error: declined,
      failure: "business",
    }));
    const broken = new PlexusError(Code.Internal, "interceptor broke");
    await expect(runTry(chargeTry(3), () => Promise.reject(broken))).rejects.toBe(broken);
    await traced.tracing.forceFlush();
    expect(
      traced.exporter
        .getFinishedSpans()
        .map((s) => [s.attributes["plexus.saga.outcome"], s.attributes["error.type"], s.status]),
    ).toEqual([
      ["RETRYING", "unavailable", { code: SpanStatusCode.ERROR, message: "payments down" }],
      ["FAILED", "failed_precondition", { code: SpanStatusCode.ERROR, message: "declined" }],
      [undefined, "internal", { code: SpanStatusCode.ERROR, message: "interceptor broke" }],
    ]);
  });

  it("makes a try of a saga started outside any trace the root of its own", async () => {
    const step = { ...chargeTry(1), trace: childTraceparent(undefined), parent: undefined };
    await runTry(step, async () => ({ outcome: "SUCCEEDED", output: null }));
    await traced.tracing.forceFlush();
    const [span] = traced.exporter.getFinishedSpans();
    expect(span?.spanContext().traceId).toBe(step.trace.traceId);
    expect(span?.parentSpanContext).toBeUndefined();
  });

  it("passes through with tracing off", async () => {
    const off = await createTracing({ serviceName: "shop", env: {} });
    const inner = async (): Promise<SagaStepResult> => ({ outcome: "SUCCEEDED", output: null });
    expect(sagaStepSpans(off)(inner)).toBe(inner);
  });
});
