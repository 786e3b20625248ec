import { Code, PlexusError, validationError, type FieldViolation } from "@plexus/core";

/** Ids and keys are opaque strings of at most this many characters (API.md: keys 1–255). */
export const maxIdLength = 255;
/** Card tokens are short; anything longer is a client bug (and is never echoed back). */
export const maxTokenLength = 255;

/** What a Charge call brings: the request's fields and its idempotency key. */
export interface ChargeInput {
  /** From the call's context or its `idempotency-key` header; undefined when missing. */
  readonly idempotencyKey: string | undefined;
  readonly orderId: string;
  readonly amountCents: bigint;
  readonly currency: string;
  readonly paymentToken: string;
}

/** A Charge request that passed every rule. */
export interface ChargeRequest {
  readonly idempotencyKey: string;
  readonly orderId: string;
  readonly amountCents: bigint;
  readonly currency: string;
  readonly paymentToken: string;
}

const printableAscii = /^[\x20-\x7e]+$/;

/** Checks an order id (non-empty, at most 255 characters). */
export function orderIdViolations(orderId: string): FieldViolation[] {
  return orderId.length === 0 || orderId.length > maxIdLength
    ? [{ field: "orderId", message: `must be 1 to ${maxIdLength} characters` }]
    : [];
}

/**
 * Validates a Charge request. A missing idempotency key is refused first and on its own: without
 * it a retry could charge twice, so no charge may even be recorded.
 *
 * @throws PlexusError `InvalidArgument` (`IDEMPOTENCY_KEY_REQUIRED`) without a key;
 *   `InvalidArgument`/`VALIDATION_ERROR` listing every violated field otherwise. The token's value
 *   is never part of a message.
 */
export function validateChargeRequest(input: ChargeInput): ChargeRequest {
  const key = input.idempotencyKey;
  if (key === undefined || key.length === 0) {
    throw new PlexusError(Code.InvalidArgument, "an idempotency key is required", {
      reason: "IDEMPOTENCY_KEY_REQUIRED",
    });
  }
  const violations: FieldViolation[] = [];
  if (key.length > maxIdLength || !printableAscii.test(key)) {
    violations.push({
      field: "idempotencyKey",
      message: `must be 1 to ${maxIdLength} printable ASCII characters`,
    });
  }
  violations.push(...orderIdViolations(input.orderId));
  if (input.amountCents <= 0n) {
    violations.push({ field: "amountCents", message: "must be greater than 0" });
  }
  if (!/^[A-Z]{3}$/.test(input.currency)) {
    violations.push({ field: "currency", message: "must be a 3-letter ISO 4217 code" });
  }
  if (input.paymentToken.length === 0 || input.paymentToken.length > maxTokenLength) {
    violations.push({
      field: "paymentToken",
      message: `must be 1 to ${maxTokenLength} characters`,
    });
  }
  if (violations.length > 0) throw validationError(violations);
  return {
    idempotencyKey: key,
    orderId: input.orderId,
    amountCents: input.amountCents,
    currency: input.currency,
    paymentToken: input.paymentToken,
  };
}

/**
 * Validates the order id of RefundOrder and ListCharges.
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR`.
 */
export function validateOrderId(orderId: string): string {
  const violations = orderIdViolations(orderId);
  if (violations.length > 0) throw validationError(violations);
  return orderId;
}
