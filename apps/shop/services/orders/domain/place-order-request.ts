import { createHash } from "node:crypto";

/** What a client asks to order (PlaceOrderRequest). */
export interface PlaceOrderInput {
  readonly userId: string;
  readonly idempotencyKey: string;
  readonly items: readonly { readonly productId: string; readonly quantity: number }[];
  readonly paymentToken: string;
}

/** A PlaceOrder request with its body hash. Lines stay as sent (order, duplicates). */
export interface PlaceOrderRequest extends PlaceOrderInput {
  /** sha256 (hex) of the canonical body: what "the same body" means for an idempotency key. */
  readonly requestHash: string;
}

/**
 * The hash of the request body an Idempotency-Key is bound to: the lines in order (product id,
 * quantity) and the payment token, canonically encoded, so the same body always hashes the same
 * whatever the JSON's key order or whitespace was.
 */
export function requestHashOf(input: Pick<PlaceOrderInput, "items" | "paymentToken">): string {
  const canonical = JSON.stringify([
    input.items.map((line) => [line.productId, line.quantity]),
    input.paymentToken,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

/**
 * A PlaceOrder request bound to the hash of its body. Its fields met orders.proto's rules (lines,
 * quantities, key, token) at the RPC boundary already.
 */
export function placeOrderRequestOf(input: PlaceOrderInput): PlaceOrderRequest {
  return { ...input, requestHash: requestHashOf(input) };
}
