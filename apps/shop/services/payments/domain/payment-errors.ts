import { Code, PlexusError, retryAfterKey, retryAfterMsOf } from "@plexus/core";
import { failureReasons, type Charge } from "./charge.ts";

/** The card was declined: a definite refusal, no money taken. Not retryable. */
export function paymentDeclined(message = "the payment was declined"): PlexusError {
  return new PlexusError(Code.FailedPrecondition, message, { reason: failureReasons.declined });
}

/** The same idempotency key came with another order, amount, currency or token. */
export function idempotencyKeyReused(): PlexusError {
  return new PlexusError(
    Code.FailedPrecondition,
    "the idempotency key was used for another charge request",
    { reason: "IDEMPOTENCY_KEY_REUSED" },
  );
}

/** RefundOrder ran for this order: it may not be charged any more. */
export function orderRefunded(): PlexusError {
  return new PlexusError(Code.FailedPrecondition, "the order's payments were refunded", {
    reason: "ORDER_REFUNDED",
  });
}

/**
 * The reasons of the errors that say the *provider* failed while payments itself worked: a
 * caller's breaker on payments does not count them (payments' breaker on its provider does).
 */
export const providerFailureReasons: readonly string[] = [
  "PROVIDER_TIMEOUT",
  "PROVIDER_UNAVAILABLE",
];

/** The provider did not answer in time; the charge stays PENDING (retry with the same key). */
export function providerTimedOut(): PlexusError {
  return new PlexusError(Code.DeadlineExceeded, "the payment provider did not answer in time", {
    reason: "PROVIDER_TIMEOUT",
  });
}

/**
 * The provider is down or failed transiently; the charge stays PENDING (retry, same key). It
 * carries the cause's pushback (`retryAfterMs`: an open provider breaker's remaining wait, the
 * provider's own `Retry-After`), which the transports pass on, so the caller's retry (the order
 * saga) waits for the provider to be tried again instead of spending its tries on refusals.
 */
export function providerUnavailable(cause?: unknown): PlexusError {
  const pushbackMs = retryAfterMsOf(cause);
  return new PlexusError(Code.Unavailable, "the payment provider is unavailable", {
    reason: "PROVIDER_UNAVAILABLE",
    cause,
    metadata: pushbackMs === undefined ? undefined : { [retryAfterKey]: String(pushbackMs) },
  });
}

/**
 * The error a Charge answers for a charge that ended without money kept. Charge only ever
 * succeeds with a SUCCEEDED charge, so a caller never mistakes a refunded or voided charge for a
 * paid order.
 */
export function chargeFailure(charge: Charge): PlexusError {
  if (charge.status === "REFUNDED") {
    return new PlexusError(Code.FailedPrecondition, "the charge was refunded", {
      reason: "CHARGE_REFUNDED",
    });
  }
  if (charge.failureReason === failureReasons.voided) {
    return new PlexusError(
      Code.FailedPrecondition,
      "the charge was cancelled before the provider made it",
      { reason: failureReasons.voided },
    );
  }
  return paymentDeclined();
}
