import { Code, PlexusError } from "@plexus/core";
import { isOrderId, type Order } from "../domain/order.ts";
import type { OrderRepository } from "./order-repository.ts";

function orderNotFound(): PlexusError {
  return new PlexusError(Code.NotFound, "order not found", { reason: "ORDER_NOT_FOUND" });
}

/**
 * Reads an order of `userId` (GetOrder in orders.proto). Another user's order, an unknown id
 * and a malformed id all answer the same NOT_FOUND, so nobody learns which orders exist.
 *
 * @throws PlexusError `NotFound`/`ORDER_NOT_FOUND`.
 */
export async function getOrder(
  orders: OrderRepository,
  orderId: string,
  userId: string,
): Promise<Order> {
  if (!isOrderId(orderId) || userId.length === 0) throw orderNotFound();
  const order = await orders.find(orderId);
  if (!order || order.userId !== userId) throw orderNotFound();
  return order;
}
