import { pageWindow } from "../../page-request.ts";
import type { OrderHistory, OrderHistoryPage } from "./order-history.ts";

/**
 * A user's order history from the read model, newest first (ListOrderHistory in orders.proto).
 * Eventually consistent: an order appears once its OrderPlaced was consumed.
 * Page and limit met orders.proto's rules at the RPC boundary (the gateway clamps larger limits
 * before calling).
 */
export async function listOrderHistory(
  history: OrderHistory,
  input: { readonly userId: string; readonly page: number; readonly limit: number },
): Promise<OrderHistoryPage> {
  const { limit, offset } = pageWindow(input);
  return history.list(input.userId, limit, offset);
}
