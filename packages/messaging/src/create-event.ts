import { randomUUID } from "node:crypto";
import {
  create,
  fromJson,
  toJson,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import {
  Code,
  PlexusError,
  childTraceparent,
  currentContext,
  formatTraceparent,
  newCorrelationId,
  systemClock,
  type CallContext,
  type Clock,
  type CloudEvent,
} from "@plexus/core";
import { parseCloudEvent } from "./parse-cloud-event.ts";

/** The attributes of a new event besides its data. */
export interface EventAttributes {
  /** Who publishes it: `/<service>` by convention (e.g. `/orders`). */
  source: string;
  /** The aggregate it is about (an order id). The outbox keeps order per subject. Default: none. */
  subject?: string;
  /** Default: a random UUID. Pass one derived from the state change to make retries idempotent. */
  id?: string;
  /** Default: the clock's now. */
  time?: Date;
  /** Default: the message's protobuf type name, so `type` names the schema of `data`. */
  type?: string;
  /** Default: {@link dataschemaOf} the message's schema. */
  dataschema?: string;
  /** Time source for `time`. Default: the system clock. */
  clock?: Clock;
  /**
   * Context to stamp: its `correlationid`, and as `traceparent` its span (the span writing the
   * event, which the relay's PRODUCER span and the consumers' spans descend from). Default: the
   * current context; without one, a new correlation id and a new trace.
   */
  context?: CallContext;
}

/** The CloudEvents `type` of an event message: its protobuf type name. */
export function eventTypeOf(schema: DescMessage): string {
  return schema.typeName;
}

/**
 * A stable absolute URI naming an event message's schema (`urn:plexus:protobuf:<type name>`).
 * Protobuf type names are versioned by package (`shop.orders.v1`), so the URI changes exactly
 * when the contract does.
 */
export function dataschemaOf(schema: DescMessage): string {
  return `urn:plexus:protobuf:${schema.typeName}`;
}

/**
 * Wraps a protobuf event message in a CloudEvents envelope (data = the message's protobuf JSON),
 * stamped with the current correlation id and, as `traceparent`, the current span: the event's
 * creation context (OpenTelemetry's term), under which its publication and handling are traced.
 *
 * @example
 * const event = createEvent(OrderPlacedSchema, { orderId, totalCents }, {
 *   source: "/orders",
 *   subject: orderId,
 * });
 * await outbox.add(tx, event);
 */
export function createEvent<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc> | MessageInitShape<Desc>,
  attributes: EventAttributes,
): CloudEvent {
  const data = toJson(schema, create(schema, message as MessageInitShape<Desc>));
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new PlexusError(
      Code.InvalidArgument,
      `event message ${schema.typeName} does not encode to a JSON object`,
    );
  }
  const ctx = attributes.context ?? currentContext();
  const envelope: Record<string, unknown> = {
    specversion: "1.0",
    id: attributes.id ?? randomUUID(),
    source: attributes.source,
    type: attributes.type ?? eventTypeOf(schema),
    time: (attributes.time ?? new Date((attributes.clock ?? systemClock).now())).toISOString(),
    datacontenttype: "application/json",
    dataschema: attributes.dataschema ?? dataschemaOf(schema),
    data: data,
    traceparent: formatTraceparent(ctx?.trace ?? childTraceparent(undefined)),
    correlationid: ctx?.correlationId ?? newCorrelationId(),
  };
  if (attributes.subject !== undefined) envelope["subject"] = attributes.subject;
  const parsed = parseCloudEvent(envelope);
  if (!parsed.ok) {
    throw new PlexusError(Code.InvalidArgument, `invalid event attributes: ${parsed.reason}`);
  }
  return parsed.event;
}

/**
 * Reads an event's data as the message `schema` describes. Unknown fields are ignored, so a
 * consumer keeps working when a producer adds fields (protobuf's compatibility rules).
 * Throws `InvalidArgument` when the event is of another type or its data does not fit.
 */
export function decodeEventData<Desc extends DescMessage>(
  schema: Desc,
  event: CloudEvent,
): MessageShape<Desc> {
  if (event.type !== eventTypeOf(schema)) {
    throw new PlexusError(
      Code.InvalidArgument,
      `event ${event.id} is a ${event.type}, not a ${schema.typeName}`,
    );
  }
  try {
    return fromJson(schema, event.data, { ignoreUnknownFields: true });
  } catch (error) {
    throw new PlexusError(
      Code.InvalidArgument,
      `event ${event.id}: data is not a valid ${schema.typeName}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
