import { validatePageRequest } from "../../page-request.ts";
import type { OrderHistory, OrderHistoryPage } from "./order-history.ts";

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
  const { limit, offset } = validatePageRequest(input);
  if (input.userId.length === 0) return { entries: [], total: 0 };
  return history.list(input.userId, limit, offset);
}
