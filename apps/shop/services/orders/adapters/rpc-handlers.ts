import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Db, ServiceHandlers } from "@plexus/core";
import type { OrderSchema, OrdersService } from "../../../gen/shop/orders/v1/orders_pb.js";
import { getOrder } from "../app/get-order.ts";
import { listOrderEvents } from "../app/list-order-events.ts";
import { listOrderHistory } from "../app/list-order-history.ts";
import type { OrderEventLog } from "../app/order-event-log.ts";
import type { OrderHistory } from "../app/order-history.ts";
import type { OrderRepositoryFactory } from "../app/order-repository.ts";
import { placeOrder, type PlaceOrderDeps } from "../app/place-order.ts";
import type { Order } from "../domain/order.ts";

export interface OrdersHandlersOptions {
  readonly db: Db;
  readonly orders: OrderRepositoryFactory;
  readonly events: OrderEventLog;
  readonly history: OrderHistory;
  /** Everything PlaceOrder needs (its saga starter and price lookup included). */
  readonly place: PlaceOrderDeps;
}

/**
 * The payment summary a client sees. A PENDING order shows its payment as PENDING (for the
 * order's total) until the saga settles it; a settled order shows what was recorded, or nothing
 * when no payment was ever attempted (OUT_OF_STOCK).
 */
function paymentOf(order: Order): MessageInitShape<typeof OrderSchema>["payment"] {
  if (order.payment) {
    return {
      status: order.payment.status,
      chargeId: order.payment.chargeId ?? "",
      amountCents: order.payment.amountCents,
    };
  }
  if (order.status === "PENDING") {
    return { status: "PENDING", chargeId: "", amountCents: order.totalCents };
  }
  return undefined;
}

function toMessage(order: Order): MessageInitShape<typeof OrderSchema> {
  return {
    id: order.id,
    userId: order.userId,
    status: order.status,
    // A domain line has exactly the contract line's fields.
    items: [...order.lines],
    totalCents: order.totalCents,
    currency: order.currency,
    failureReason: order.failureReason ?? "",
    payment: paymentOf(order),
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}

/**
 * The OrdersService contract. Requests are never logged: PlaceOrder carries a card token.
 */
export function createOrdersHandlers(
  options: OrdersHandlersOptions,
): ServiceHandlers<typeof OrdersService> {
  const { db, orders, events, history } = options;
  return {
    async placeOrder(request) {
      const placed = await placeOrder(options.place, {
        userId: request.userId,
        idempotencyKey: request.idempotencyKey,
        items: request.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
        paymentToken: request.paymentToken,
      });
      return { orderId: placed.orderId, status: placed.status };
    },
    async getOrder(request) {
      return { order: toMessage(await getOrder(orders(db), request.orderId, request.userId)) };
    },
    async listOrderEvents(request) {
      const page = await listOrderEvents(events, request.afterPosition, request.limit);
      return {
        events: page.map((e) => ({
          position: BigInt(e.position),
          eventJson: JSON.stringify(e.event),
        })),
      };
    },
    async listOrderHistory(request) {
      const page = await listOrderHistory(history, request);
      return {
        orders: page.entries.map((e) => ({
          id: e.id,
          status: e.status,
          totalCents: e.totalCents,
          itemCount: e.itemCount,
          createdAt: e.createdAt,
        })),
        total: page.total,
      };
    },
  };
}
