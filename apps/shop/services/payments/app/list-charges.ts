import { isVisible, type Charge } from "../domain/charge.ts";
import type { ChargeRepository } from "./charge-repository.ts";

/**
 * The charges of an order, oldest first (ListCharges in payments.proto). PENDING charges are
 * left out: their outcome is not known yet, and API.md's payment statuses are SUCCEEDED,
 * REFUNDED and FAILED only.
 * The order id met payments.proto's rules at the RPC boundary.
 */
export async function listCharges(charges: ChargeRepository, orderId: string): Promise<Charge[]> {
  return (await charges.listByOrder(orderId)).filter(isVisible);
}
