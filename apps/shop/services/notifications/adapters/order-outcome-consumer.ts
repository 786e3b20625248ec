import type { CloudEvent, EventConsumer } from "@plexus/core";
import { decodeEventData, eventTypeOf } from "@plexus/messaging";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
} from "../../../gen/shop/orders/v1/orders_pb.js";
import {
  recordOrderOutcome,
  type OrderOutcome,
  type RecordOrderOutcomeDeps,
} from "../app/record-order-outcome.ts";

const confirmedType = eventTypeOf(OrderConfirmedSchema);
const cancelledType = eventTypeOf(OrderCancelledSchema);

function outcomeOf(event: CloudEvent): OrderOutcome {
  if (event.type === confirmedType) {
    const data = decodeEventData(OrderConfirmedSchema, event);
    return {
      eventId: event.id,
      type: "order.confirmed",
      orderId: data.orderId,
      userId: data.userId,
    };
  }
  const data = decodeEventData(OrderCancelledSchema, event);
  return { eventId: event.id, type: "order.cancelled", orderId: data.orderId, userId: data.userId };
}

/**
 * Turns every settled order (OrderConfirmed, OrderCancelled) into one notification. The host runs
 * `handle` inside the transaction that records the event in the inbox, so a redelivered event
 * makes no second notification.
 */
export function createOrderOutcomeConsumer(deps: RecordOrderOutcomeDeps): EventConsumer {
  return {
    name: "order-outcomes",
    types: [confirmedType, cancelledType],
    async handle(event, tx) {
      await recordOrderOutcome(deps, tx, outcomeOf(event));
    },
  };
}
