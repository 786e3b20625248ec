import type { Attributes } from "@opentelemetry/api";
import type { CloudEvent } from "@plexus/core";

/**
 * `messaging.system.name` per broker kind: the in-memory broker is Plexus's own (no semconv value
 * names it), the others are the systems themselves.
 */
const systemNames: Readonly<Record<string, string>> = { memory: "plexus-memory" };

/** The name and attributes of the span of one messaging operation on one event. */
export interface MessagingSpan {
  /** `<operation> <event type>` (`publish shop.orders.v1.OrderConfirmed`). */
  readonly name: string;
  readonly attributes: Attributes;
}

/**
 * The span of `operation` on `event` through a broker of kind `broker`, after OpenTelemetry's
 * messaging conventions (semconv 1.45): the destination is the event type — what every Plexus
 * broker routes on, and low-cardinality — while the aggregate the event is about (`subject`, an
 * order id) goes to `cloudevents.event_subject`. Shared by both ends, so a publish and its
 * deliveries read alike in a trace.
 */
export function messagingSpan(
  operation: "publish" | "process",
  event: CloudEvent,
  broker: string,
): MessagingSpan {
  const attributes: Attributes = {
    "messaging.system.name": systemNames[broker] ?? broker,
    "messaging.operation.name": operation,
    // Semconv's type for a publish is `send` (`publish` is its deprecated name).
    "messaging.operation.type": operation === "publish" ? "send" : "process",
    "messaging.destination.name": event.type,
    "messaging.message.id": event.id,
    "cloudevents.event_source": event.source,
  };
  if (event.subject !== undefined) attributes["cloudevents.event_subject"] = event.subject;
  if (event.correlationid !== undefined) {
    attributes["messaging.message.conversation_id"] = event.correlationid;
  }
  return { name: `${operation} ${event.type}`, attributes };
}
