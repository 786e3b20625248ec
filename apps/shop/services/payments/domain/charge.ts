/**
 * Where a charge stands. PENDING: recorded before the provider was asked, outcome unknown (the
 * provider may still charge; the same key resolves it). The other three are final.
 */
export type ChargeStatus = "PENDING" | "SUCCEEDED" | "FAILED" | "REFUNDED";

/** Why a FAILED (or an unexpectedly REFUNDED) charge ended so. */
export const failureReasons = {
  /** The card was declined (or the token is unknown). */
  declined: "PAYMENT_DECLINED",
  /** Cancelled by RefundOrder before the provider charged it; the provider will never charge it. */
  voided: "PAYMENT_VOIDED",
  /** Charged by the provider while the order already had a succeeded charge: refunded at once. */
  duplicate: "DUPLICATE_CHARGE",
} as const;

/** One attempt to charge an order, under one idempotency key. */
export interface Charge {
  /** `ch_<uuid>`, made by this service. */
  readonly chargeId: string;
  readonly orderId: string;
  /** The caller's idempotency key; unique across all charges. */
  readonly idempotencyKey: string;
  /** In the currency's minor unit; always > 0. */
  readonly amountCents: bigint;
  /** ISO 4217 code. */
  readonly currency: string;
  readonly status: ChargeStatus;
  /** Set for FAILED charges (and for a duplicate refunded at once). */
  readonly failureReason: string | undefined;
  /** The provider's id of the money movement, once it is known to exist. */
  readonly providerChargeId: string | undefined;
  /** RFC 3339. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * What a client of ListCharges (and API.md's `/orders/{id}/payments`) sees: a PENDING charge is
 * not shown, since whether it will be money taken is not known yet. It only exists while a
 * Charge call (or its retry) is deciding it, and RefundOrder settles every PENDING charge of the
 * order, so at a quiet moment a settled order has none.
 */
export function isVisible(charge: Charge): boolean {
  return charge.status !== "PENDING";
}
