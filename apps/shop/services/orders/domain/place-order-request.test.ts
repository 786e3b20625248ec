import { describe, expect, it } from "vitest";
import { placeOrderRequestOf, requestHashOf, type PlaceOrderInput } from "./place-order-request.ts";

const valid: PlaceOrderInput = {
  userId: "usr_1",
  idempotencyKey: "key-1",
  items: [{ productId: "prd_dune", quantity: 1 }],
  paymentToken: "tok_visa",
};

describe("placeOrderRequestOf", () => {
  it("keeps the lines as sent and binds them to a hash", () => {
    const items = [
      { productId: "prd_a", quantity: 1000 },
      { productId: "prd_a", quantity: 1 },
    ];
    const request = placeOrderRequestOf({ ...valid, items });
    expect(request.items).toEqual(items);
    expect(request.requestHash).toMatch(/^[0-9a-f]{64}$/);
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
