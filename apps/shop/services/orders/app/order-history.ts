import type { OrderStatus } from "../domain/order.ts";

/** One order as the history read model shows it. */
export interface OrderHistoryEntry {
  readonly id: string;
  readonly status: OrderStatus;
  readonly totalCents: bigint;
  readonly itemCount: number;
  /** RFC 3339. */
  readonly createdAt: string;
}

/** One page of a user's history, newest first, with the count of all their entries. */
export interface OrderHistoryPage {
  readonly entries: readonly OrderHistoryEntry[];
  readonly total: number;
}

/**
 * The order-history read model (CQRS): summaries kept from the order event log by a projection
 * (`orderHistoryProjection`), eventually consistent with the orders.
 */
export interface OrderHistory {
  /** A user's entries, newest first. */
  list(userId: string, limit: number, offset: number): Promise<OrderHistoryPage>;
}
