import { failureReasons, type Charge } from "../domain/charge.ts";
import { providerCallOptions, type CallBounds, type PaymentsDeps } from "./payments-deps.ts";
import { nowIso } from "../../now-iso.ts";

/**
 * Settles a PENDING charge without charging: asks the provider to void its key. If the provider
 * had charged it, that charge is refunded (→ REFUNDED); if not, the key is voided for good and the
 * charge is FAILED (`PAYMENT_VOIDED`), so a provider request still in flight can never succeed.
 * A concurrent Charge that marked it SUCCEEDED meanwhile is caught too: the provider refunded
 * that very charge, and REFUNDED is recorded over SUCCEEDED.
 *
 * @throws PlexusError `Unavailable`/`DeadlineExceeded` when the provider cannot be reached; the
 *   charge stays as it was, and settling again is safe.
 */
export async function settlePending(
  deps: PaymentsDeps,
  charge: Charge,
  bounds: CallBounds,
  refundReason?: string,
): Promise<void> {
  const outcome = await deps.provider.voidCharge(
    charge.idempotencyKey,
    providerCallOptions(deps, bounds),
  );
  const at = nowIso(deps.clock);
  switch (outcome.kind) {
    case "refunded":
      await deps.charges.markRefunded(charge.chargeId, outcome.providerChargeId, at, refundReason);
      break;
    case "voided":
      await deps.charges.markFailed(charge.chargeId, failureReasons.voided, at);
      break;
    case "declined":
      await deps.charges.markFailed(charge.chargeId, failureReasons.declined, at);
      break;
  }
  deps.logger.info(
    { orderId: charge.orderId, chargeId: charge.chargeId, outcome: outcome.kind },
    "pending charge settled",
  );
}
