import { createHash } from "node:crypto";
import { validationError, type FieldViolation } from "@plexus/core";

/** Lines of one order, at most (API.md). */
export const maxOrderLines = 100;
/** Units of one line, at most (API.md: quantity 1..1000). */
export const maxLineQuantity = 1000;
/** Product ids are short slugs; a longer one could never match. */
export const maxProductIdLength = 255;
/** Card tokens are short opaque references. */
export const maxPaymentTokenLength = 255;
/** API.md: an Idempotency-Key is 1..255 printable ASCII characters. */
const idempotencyKeyPattern = /^[\x20-\x7e]{1,255}$/;
/** User ids come from the gateway's verified token; this only bounds them. */
const maxUserIdLength = 255;

/** What a client asks to order (PlaceOrderRequest). */
export interface PlaceOrderInput {
  readonly userId: string;
  readonly idempotencyKey: string;
  readonly items: readonly { readonly productId: string; readonly quantity: number }[];
  readonly paymentToken: string;
}

/** A PlaceOrder request that passed every rule. Lines stay as sent (order, duplicates). */
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
 * Validates a PlaceOrder request. Field names follow the public REST body (`items[0].quantity`,
 * `paymentMethod.token`), since that is what a client sees in the error details.
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR` listing every violated field.
 */
export function validatePlaceOrder(input: PlaceOrderInput): PlaceOrderRequest {
  const violations: FieldViolation[] = [];
  if (input.userId.length === 0 || input.userId.length > maxUserIdLength) {
    violations.push({ field: "userId", message: "must be the authenticated user's id" });
  }
  if (!idempotencyKeyPattern.test(input.idempotencyKey)) {
    violations.push({
      field: "idempotencyKey",
      message: "must be 1 to 255 printable ASCII characters",
    });
  }
  if (input.items.length === 0) {
    violations.push({ field: "items", message: "must hold at least one line" });
  } else if (input.items.length > maxOrderLines) {
    violations.push({ field: "items", message: `must hold at most ${maxOrderLines} lines` });
  }
  input.items.slice(0, maxOrderLines).forEach((line, i) => {
    if (line.productId.length === 0 || line.productId.length > maxProductIdLength) {
      violations.push({
        field: `items[${i}].productId`,
        message: `must be 1 to ${maxProductIdLength} characters`,
      });
    }
    if (
      !Number.isSafeInteger(line.quantity) ||
      line.quantity < 1 ||
      line.quantity > maxLineQuantity
    ) {
      violations.push({
        field: `items[${i}].quantity`,
        message: `must be an integer from 1 to ${maxLineQuantity}`,
      });
    }
  });
  if (input.paymentToken.trim().length === 0 || input.paymentToken.length > maxPaymentTokenLength) {
    violations.push({
      field: "paymentMethod.token",
      message: `must be 1 to ${maxPaymentTokenLength} characters`,
    });
  }
  if (violations.length > 0) throw validationError(violations);
  return { ...input, requestHash: requestHashOf(input) };
}
