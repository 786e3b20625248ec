import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { Code, PlexusError, childTraceparent, parseTraceparent } from "@plexus/core";
import type { SagaStepTry } from "@plexus/saga";
import { describe, expect, it } from "vitest";
import { useTestTracing } from "./test-tracing.ts";
import { createTracing } from "./tracing.ts";
import { withClientSpan } from "./client-span.ts";
import { sagaStepSpans } from "./saga-step-spans.ts";

/** The span that started the saga (PlaceOrder's SERVER span). */
const starter = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")!;

function chargeTry(attempt: number, parent = starter): SagaStepTry {
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

describe("sagaStepSpans", () => {
  it("records each try under its own ids, below the saga's starter, above the step's calls", async () => {
    const step = chargeTry(1);
    const span = sagaStepSpans(traced.tracing)!(step);
    await span.run(() =>
      withClientSpan(traced.tracing, "shop.payments.v1.PaymentsService/Charge", {}, async () => {}),
    );
    span.end("SUCCEEDED");

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
    const spans = sagaStepSpans(traced.tracing)!;
    spans(chargeTry(1)).end("RETRYING", new PlexusError(Code.Unavailable, "payments down"));
    spans(chargeTry(2)).end("FAILED", new PlexusError(Code.FailedPrecondition, "declined"));
    await traced.tracing.forceFlush();
    expect(
      traced.exporter
        .getFinishedSpans()
        .map((s) => [s.attributes["plexus.saga.outcome"], s.attributes["error.type"], s.status]),
    ).toEqual([
      ["RETRYING", "unavailable", { code: SpanStatusCode.ERROR, message: "payments down" }],
      ["FAILED", "failed_precondition", { code: SpanStatusCode.ERROR, message: "declined" }],
    ]);
  });

  it("makes a try of a saga started outside any trace the root of its own", async () => {
    const step = { ...chargeTry(1), trace: childTraceparent(undefined), parent: undefined };
    sagaStepSpans(traced.tracing)!(step).end("SUCCEEDED");
    await traced.tracing.forceFlush();
    const [span] = traced.exporter.getFinishedSpans();
    expect(span?.spanContext().traceId).toBe(step.trace.traceId);
    expect(span?.parentSpanContext).toBeUndefined();
  });

  it("steps aside with tracing off", async () => {
    expect(sagaStepSpans(await createTracing({ serviceName: "shop", env: {} }))).toBeUndefined();
  });
});
