import type { Charge } from "../domain/charge.ts";

/** How recording a new PENDING charge went. */
export type InsertPendingOutcome = "created" | "key-taken" | "order-refunded";

/** How PENDING → SUCCEEDED went. */
export type MarkSucceededOutcome =
  | "updated"
  /** The charge is no longer PENDING (settled by a concurrent call). */
  | "not-pending"
  /** Another charge of the order is SUCCEEDED already (one per order, by a unique index). */
  | "order-has-another";

/** Charges and per-order refund marks (the port the SQL adapter implements). */
export interface ChargeRepository {
  findByKey(idempotencyKey: string): Promise<Charge | undefined>;
  /** The order's SUCCEEDED charge; there is at most one. */
  findSucceeded(orderId: string): Promise<Charge | undefined>;
  /** Every charge of the order, oldest first. */
  listByOrder(orderId: string): Promise<Charge[]>;
  /**
   * Records a PENDING charge, atomically with the check that RefundOrder has not run for its
   * order (both take the order's row lock, so one of them sees the other).
   */
  insertPending(charge: Charge): Promise<InsertPendingOutcome>;
  markSucceeded(
    chargeId: string,
    providerChargeId: string,
    at: string,
  ): Promise<MarkSucceededOutcome>;
  /** PENDING → FAILED; false when it was not PENDING. */
  markFailed(chargeId: string, reason: string, at: string): Promise<boolean>;
  /** PENDING or SUCCEEDED → REFUNDED; false when it was neither. */
  markRefunded(
    chargeId: string,
    providerChargeId: string,
    at: string,
    reason?: string,
  ): Promise<boolean>;
  /** Marks the order refunded (kept forever): no charge of it may be recorded afterwards. */
  markOrderRefunded(orderId: string, at: string): Promise<void>;
  isOrderRefunded(orderId: string): Promise<boolean>;
}
