import { describe, expect, it } from "vitest";
import { violatedFields } from "../../test-errors.ts";
import { requestHashOf, validatePlaceOrder, type PlaceOrderInput } from "./place-order-request.ts";

const valid: PlaceOrderInput = {
  userId: "usr_1",
  idempotencyKey: "key-1",
  items: [{ productId: "prd_dune", quantity: 1 }],
  paymentToken: "tok_visa",
};

function fieldsOf(input: Partial<PlaceOrderInput>): string[] {
  return violatedFields(() => validatePlaceOrder({ ...valid, ...input }));
}

describe("validatePlaceOrder", () => {
  it("accepts 1..100 lines of 1..1000 units and keeps them as sent", () => {
    const items = [
      { productId: "prd_a", quantity: 1000 },
      { productId: "prd_a", quantity: 1 },
    ];
    const request = validatePlaceOrder({ ...valid, items });
    expect(request.items).toEqual(items);
    expect(request.requestHash).toMatch(/^[0-9a-f]{64}$/);
    expect(fieldsOf({ items: Array.from({ length: 100 }, () => valid.items[0]!) })).toEqual([]);
  });

  it("names each violated field", () => {
    expect(fieldsOf({ items: [] })).toEqual(["items"]);
    expect(fieldsOf({ items: Array.from({ length: 101 }, () => valid.items[0]!) })).toEqual([
      "items",
    ]);
    expect(
      fieldsOf({
        items: [
          { productId: "p", quantity: 0 },
          { productId: "p", quantity: 1001 },
          { productId: "p", quantity: 1.5 },
          { productId: "", quantity: 1 },
          { productId: "x".repeat(256), quantity: 1 },
        ],
      }),
    ).toEqual([
      "items[0].quantity",
      "items[1].quantity",
      "items[2].quantity",
      "items[3].productId",
      "items[4].productId",
    ]);
    expect(fieldsOf({ paymentToken: "" })).toEqual(["paymentMethod.token"]);
    expect(fieldsOf({ paymentToken: "  " })).toEqual(["paymentMethod.token"]);
    expect(fieldsOf({ idempotencyKey: "" })).toEqual(["idempotencyKey"]);
    expect(fieldsOf({ idempotencyKey: "k".repeat(256) })).toEqual(["idempotencyKey"]);
    expect(fieldsOf({ idempotencyKey: "tab\there" })).toEqual(["idempotencyKey"]);
    expect(fieldsOf({ userId: "" })).toEqual(["userId"]);
  });
});

describe("requestHashOf", () => {
  it("is the same for the same lines and token, and differs otherwise", () => {
    const hash = requestHashOf(valid);
    expect(requestHashOf({ ...valid, items: [{ quantity: 1, productId: "prd_dune" }] })).toBe(hash);
    expect(requestHashOf({ ...valid, paymentToken: "tok_slow" })).not.toBe(hash);
    expect(requestHashOf({ ...valid, items: [{ productId: "prd_dune", quantity: 2 }] })).not.toBe(
      hash,
    );
    // Line order is part of the body.
    const two = [
      { productId: "a", quantity: 1 },
      { productId: "b", quantity: 1 },
    ];
    expect(requestHashOf({ ...valid, items: two })).not.toBe(
      requestHashOf({ ...valid, items: [...two].reverse() }),
    );
    // No ambiguity from concatenation.
    expect(
      requestHashOf({ items: [{ productId: "a", quantity: 11 }], paymentToken: "t" }),
    ).not.toBe(requestHashOf({ items: [{ productId: "a1", quantity: 1 }], paymentToken: "t" }));
  });
});
