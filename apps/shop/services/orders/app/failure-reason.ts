import type { SagaFailure } from "@plexus/saga";
import { failureReasons, type FailureReason } from "../domain/order.ts";

/**
 * Maps why the place-order saga compensated to the order's `failureReason`:
 * - reserve refused (OUT_OF_STOCK, PRODUCT_NOT_FOUND) → OUT_OF_STOCK;
 * - reserve failed otherwise (catalog down past the retries) → STOCK_UNAVAILABLE;
 * - charge declined → PAYMENT_DECLINED;
 * - charge failed otherwise (timeouts, provider down, retries exhausted, an unexpected refusal)
 *   → PAYMENT_UNAVAILABLE: the charge's own compensation (RefundOrder) ran, so no charge is kept.
 * A failure of a later step (confirm is local and does not fail) also counts as
 * PAYMENT_UNAVAILABLE: by then the charge was made and refunded.
 */
export function failureReasonOf(failure: SagaFailure | undefined): FailureReason {
  if (failure?.step === "reserve") {
    return failure.kind === "business"
      ? failureReasons.outOfStock
      : failureReasons.stockUnavailable;
  }
  if (failure?.step === "charge" && failure.kind === "business") {
    return failureReasons.paymentDeclined;
  }
  return failureReasons.paymentUnavailable;
}
