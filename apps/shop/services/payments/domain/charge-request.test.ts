import { Code, PlexusError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { validateChargeRequest, type ChargeInput } from "./charge-request.ts";

const valid: ChargeInput = {
  idempotencyKey: "saga-1:charge:action",
  orderId: "order-1",
  amountCents: 1250n,
  currency: "EUR",
  paymentToken: "tok_visa",
};

function failureOf(input: ChargeInput): PlexusError {
  try {
    validateChargeRequest(input);
  } catch (error) {
    expect(error).toBeInstanceOf(PlexusError);
    return error as PlexusError;
  }
  throw new Error("expected a validation failure");
}

describe("validateChargeRequest", () => {
  it("passes a valid request through", () => {
    expect(validateChargeRequest(valid)).toEqual(valid);
  });

  it("refuses a missing or empty key first, on its own", () => {
    for (const idempotencyKey of [undefined, ""]) {
      const error = failureOf({ ...valid, idempotencyKey });
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.reason).toBe("IDEMPOTENCY_KEY_REQUIRED");
    }
  });

  it("refuses a key that is not 1-255 printable ASCII characters", () => {
    for (const idempotencyKey of ["k\n", "k".repeat(256), "clé"]) {
      const error = failureOf({ ...valid, idempotencyKey });
      expect(error.reason).toBe("VALIDATION_ERROR");
      expect(error.details.map((d) => d.field)).toEqual(["idempotencyKey"]);
    }
    expect(validateChargeRequest({ ...valid, idempotencyKey: "k".repeat(255) })).toBeDefined();
  });
});
