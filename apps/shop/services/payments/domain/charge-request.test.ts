import { Code, PlexusError } from "@plexus/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validateChargeRequest, validateOrderId, type ChargeInput } from "./charge-request.ts";

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
      const error = failureOf({ ...valid, idempotencyKey, amountCents: 0n });
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.reason).toBe("IDEMPOTENCY_KEY_REQUIRED");
    }
  });

  it("lists every violated field and never echoes the token", () => {
    const token = "x".repeat(256);
    const error = failureOf({
      idempotencyKey: "k\n",
      orderId: "",
      amountCents: -1n,
      currency: "Eur",
      paymentToken: token,
    });
    expect(error.reason).toBe("VALIDATION_ERROR");
    expect(error.details.map((d) => d.field)).toEqual([
      "idempotencyKey",
      "orderId",
      "amountCents",
      "currency",
      "paymentToken",
    ]);
    expect(JSON.stringify(error.details)).not.toContain(token);
  });

  it("accepts exactly amounts > 0 and three upper-case letters (property)", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.string(),
        (amountCents, currency) => {
          let fields: string[] = [];
          try {
            validateChargeRequest({ ...valid, amountCents, currency });
          } catch (error) {
            fields = (error as PlexusError).details.map((d) => d.field);
          }
          expect(fields.includes("amountCents")).toBe(amountCents <= 0n);
          expect(fields.includes("currency")).toBe(!/^[A-Z]{3}$/.test(currency));
        },
      ),
    );
  });
});

describe("validateOrderId", () => {
  it("accepts 1 to 255 characters", () => {
    expect(validateOrderId("o")).toBe("o");
    expect(validateOrderId("o".repeat(255))).toBe("o".repeat(255));
    expect(() => validateOrderId("")).toThrow(PlexusError);
    expect(() => validateOrderId("o".repeat(256))).toThrow(PlexusError);
  });
});
