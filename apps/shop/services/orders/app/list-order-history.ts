import { validationError, type FieldViolation } from "@plexus/core";
import type { OrderHistory, OrderHistoryPage } from "./order-history.ts";

/** Entries of one page, at most (API.md: `limit` capped at 100). */
export const maxHistoryPageSize = 100;

/**
 * A user's order history from the read model, newest first (ListOrderHistory in orders.proto).
 * Eventually consistent: an order appears once its OrderPlaced was consumed.
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR` on a page below 1 or a limit out of
 *   1..100 (the gateway clamps larger limits before calling).
 */
export async function listOrderHistory(
  history: OrderHistory,
  input: { readonly userId: string; readonly page: number; readonly limit: number },
): Promise<OrderHistoryPage> {
  const violations: FieldViolation[] = [];
  if (!Number.isSafeInteger(input.page) || input.page < 1) {
    violations.push({ field: "page", message: "must be an integer of at least 1" });
  }
  if (!Number.isSafeInteger(input.limit) || input.limit < 1 || input.limit > maxHistoryPageSize) {
    violations.push({
      field: "limit",
      message: `must be an integer from 1 to ${maxHistoryPageSize}`,
    });
  }
  if (violations.length > 0) throw validationError(violations);
  if (input.userId.length === 0) return { entries: [], total: 0 };
  return history.list(input.userId, input.limit, (input.page - 1) * input.limit);
}
