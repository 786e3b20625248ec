import type { FailureKind, SagaFailure } from "@plexus/saga";
import { describe, expect, it } from "vitest";
import { failureReasonOf } from "./failure-reason.ts";

function failure(step: string, kind: FailureKind): SagaFailure {
  return { step, kind, stepIndex: 0, phase: "action", code: "x", reason: "X", message: "m" };
}

describe("failureReasonOf", () => {
  it("maps how the saga failed to the order's failure reason", () => {
    expect(failureReasonOf(failure("reserve", "business"))).toBe("OUT_OF_STOCK");
    expect(failureReasonOf(failure("reserve", "exhausted"))).toBe("STOCK_UNAVAILABLE");
    expect(failureReasonOf(failure("charge", "business"))).toBe("PAYMENT_DECLINED");
    expect(failureReasonOf(failure("charge", "exhausted"))).toBe("PAYMENT_UNAVAILABLE");
    expect(failureReasonOf(failure("charge", "fatal"))).toBe("PAYMENT_UNAVAILABLE");
    expect(failureReasonOf(failure("confirm", "fatal"))).toBe("PAYMENT_UNAVAILABLE");
    expect(failureReasonOf(undefined)).toBe("PAYMENT_UNAVAILABLE");
  });
});
