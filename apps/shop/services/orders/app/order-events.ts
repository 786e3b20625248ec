import type { CloudEvent } from "@plexus/core";
import { createEvent, eventTypeOf } from "@plexus/messaging";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
} from "../../../gen/shop/orders/v1/orders_pb.js";
import type { Order } from "../domain/order.ts";

/** `source` of every event the orders service publishes. */
export const ordersEventSource = "/orders";

/** CloudEvents types of the order events (their protobuf type names). */
export const orderEventTypes = {
  placed: eventTypeOf(OrderPlacedSchema),
  confirmed: eventTypeOf(OrderConfirmedSchema),
  cancelled: eventTypeOf(OrderCancelledSchema),
} as const;

/**
 * Event ids are derived from the state change (one placement, one settlement per order), so a
 * retried write of the same change is the same event and the outbox, the log and every inbox
 * see it once.
 */
function eventId(orderId: string, what: "placed" | "confirmed" | "cancelled"): string {
  return `${orderId}.${what}`;
}

/** OrderPlaced: the order was accepted (PENDING). */
export function orderPlacedEvent(order: Order): CloudEvent {
  return createEvent(
    OrderPlacedSchema,
    {
      orderId: order.id,
      userId: order.userId,
      // A domain line has exactly the contract line's fields.
      items: [...order.lines],
      totalCents: order.totalCents,
      currency: order.currency,
      createdAt: order.createdAt,
    },
    {
      source: ordersEventSource,
      subject: order.id,
      id: eventId(order.id, "placed"),
      time: new Date(order.createdAt),
    },
  );
}

/**
 * OrderConfirmed: the saga completed. Written by its completion hook, which runs in the saga's
 * context: the event carries the saga's correlation id and joins the trace that started it.
 */
export function orderConfirmedEvent(
  order: { readonly id: string; readonly userId: string; readonly totalCents: bigint },
  confirmedAt: string,
): CloudEvent {
  return createEvent(
    OrderConfirmedSchema,
    { orderId: order.id, userId: order.userId, totalCents: order.totalCents, confirmedAt },
    {
      source: ordersEventSource,
      subject: order.id,
      id: eventId(order.id, "confirmed"),
      time: new Date(confirmedAt),
    },
  );
}

/** OrderCancelled: the saga compensated (written in the saga's context, as OrderConfirmed). */
export function orderCancelledEvent(
  order: { readonly id: string; readonly userId: string },
  failureReason: string,
  cancelledAt: string,
): CloudEvent {
  return createEvent(
    OrderCancelledSchema,
    { orderId: order.id, userId: order.userId, failureReason, cancelledAt },
    {
      source: ordersEventSource,
      subject: order.id,
      id: eventId(order.id, "cancelled"),
      time: new Date(cancelledAt),
    },
  );
}
