import { isVisible, type Charge } from "../domain/charge.ts";
import { validateOrderId } from "../domain/charge-request.ts";
import type { ChargeRepository } from "./charge-repository.ts";

/**
 * The charges of an order, oldest first (ListCharges in payments.proto). PENDING charges are
 * left out: their outcome is not known yet, and API.md's payment statuses are SUCCEEDED,
 * REFUNDED and FAILED only.
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR` on an empty or over-long order id.
 */
export async function listCharges(charges: ChargeRepository, orderId: string): Promise<Charge[]> {
  return (await charges.listByOrder(validateOrderId(orderId))).filter(isVisible);
}
