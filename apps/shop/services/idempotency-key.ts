import { fieldViolation } from "@plexus/rpc";
import { PlaceOrderRequestSchema } from "../gen/shop/orders/v1/orders_pb.js";

/**
 * What is wrong with an idempotency key, or `undefined` when it is valid (API.md: 1–255 printable
 * ASCII characters). The rule is stated once, on `PlaceOrderRequest.idempotency_key` in
 * orders.proto; the gateway (the `Idempotency-Key` header), payments (the key of a charge) and the
 * card provider simulator check keys here, so none of them keeps a copy of it.
 *
 * @example
 * const problem = idempotencyKeyViolation(req.headers["idempotency-key"]);
 * if (problem !== undefined) throw badKey(`the Idempotency-Key header ${problem}`);
 */
export function idempotencyKeyViolation(key: string): string | undefined {
  return fieldViolation(PlaceOrderRequestSchema.field.idempotencyKey, key);
}
