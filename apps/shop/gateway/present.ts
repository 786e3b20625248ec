import type { Notification } from "../gen/shop/notifications/v1/notifications_pb.js";
import type { Order, OrderSummary } from "../gen/shop/orders/v1/orders_pb.js";
import type { Charge } from "../gen/shop/payments/v1/payments_pb.js";
import type { User } from "../gen/shop/users/v1/users_pb.js";

// Money is int64 on the wire; amounts in cents stay far below 2^53, so JSON numbers are exact.

/** API.md's order: optional members are absent, not null, when they do not apply. */
export function presentOrder(order: Order) {
  return {
    id: order.id,
    userId: order.userId,
    status: order.status,
    items: order.items.map((line) => ({
      productId: line.productId,
      quantity: line.quantity,
      unitPriceCents: Number(line.unitPriceCents),
    })),
    totalCents: Number(order.totalCents),
    currency: order.currency,
    ...(order.failureReason === "" ? {} : { failureReason: order.failureReason }),
    ...(order.payment && order.payment.status !== ""
      ? {
          payment: {
            status: order.payment.status,
            ...(order.payment.chargeId === "" ? {} : { chargeId: order.payment.chargeId }),
            amountCents: Number(order.payment.amountCents),
          },
        }
      : {}),
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}

/** One line of the order history (`/me/orders`, the overview's `recentOrders`). */
export function presentOrderSummary(order: OrderSummary) {
  return {
    id: order.id,
    status: order.status,
    totalCents: Number(order.totalCents),
    itemCount: order.itemCount,
    createdAt: order.createdAt,
  };
}

export function presentCharge(charge: Charge) {
  return {
    chargeId: charge.chargeId,
    status: charge.status,
    amountCents: Number(charge.amountCents),
  };
}

export function presentNotification(notification: Notification) {
  return {
    id: notification.id,
    type: notification.type,
    orderId: notification.orderId,
    createdAt: notification.createdAt,
  };
}

/** The v1 user, as `GET /api/v1/users/{id}` shows it. */
export function presentUser(user: User) {
  return { id: user.id, email: user.email, name: user.name, createdAt: user.createdAt };
}
