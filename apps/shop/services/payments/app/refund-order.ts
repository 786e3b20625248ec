import { isVisible, type Charge } from "../domain/charge.ts";
import { providerCallOptions, type CallBounds, type PaymentsDeps } from "./payments-deps.ts";
import { settlePending } from "./settle-pending.ts";
import { nowIso } from "../../now-iso.ts";

/**
 * Refunds an order (RefundOrder in payments.proto): every SUCCEEDED charge is refunded at the
 * provider, and every PENDING one is settled so that it can never succeed later (see
 * {@link settlePending}). The order is first marked refunded, so a Charge arriving after this
 * (a late retry, a request that was still on its way) is refused rather than charged.
 * Idempotent: a second call finds nothing left to do and answers the same charges.
 *
 * @returns the order's charges afterwards, oldest first (PENDING ones are not shown).
 * @throws PlexusError `Unavailable`/`DeadlineExceeded` when the provider cannot be reached;
 *   what was done stays done, and calling again finishes the rest.
 */
export async function refundOrder(
  deps: PaymentsDeps,
  orderId: string,
  bounds: CallBounds,
): Promise<Charge[]> {
  // The order id met payments.proto's rules at the RPC boundary.
  const id = orderId;
  await deps.charges.markOrderRefunded(id, nowIso(deps.clock));
  for (const charge of await deps.charges.listByOrder(id)) {
    if (charge.status === "SUCCEEDED" && charge.providerChargeId !== undefined) {
      await deps.provider.refund(charge.providerChargeId, providerCallOptions(deps, bounds));
      await deps.charges.markRefunded(charge.chargeId, charge.providerChargeId, nowIso(deps.clock));
      deps.logger.info({ orderId: id, chargeId: charge.chargeId }, "charge refunded");
    } else if (charge.status === "PENDING") {
      await settlePending(deps, charge, bounds);
    }
  }
  return (await deps.charges.listByOrder(id)).filter(isVisible);
}
