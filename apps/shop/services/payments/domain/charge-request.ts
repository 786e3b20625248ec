import { Code, PlexusError, validationError } from "@plexus/core";
import { idempotencyKeyViolation } from "../../idempotency-key.ts";

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

/**
 * Checks the idempotency key of a Charge request; its fields met payments.proto's rules at the
 * RPC boundary already. A missing key is refused on its own: without it a retry could charge
 * twice, so no charge may even be recorded.
 *
 * @throws PlexusError `InvalidArgument` (`IDEMPOTENCY_KEY_REQUIRED`) without a key;
 *   `InvalidArgument`/`VALIDATION_ERROR` on a key that is not 1–255 printable ASCII characters.
 */
export function validateChargeRequest(input: ChargeInput): ChargeRequest {
  const key = input.idempotencyKey;
  if (key === undefined || key.length === 0) {
    throw new PlexusError(Code.InvalidArgument, "an idempotency key is required", {
      reason: "IDEMPOTENCY_KEY_REQUIRED",
    });
  }
  const problem = idempotencyKeyViolation(key);
  if (problem !== undefined) throw validationError([{ field: "idempotencyKey", message: problem }]);
  return { ...input, idempotencyKey: key };
}
