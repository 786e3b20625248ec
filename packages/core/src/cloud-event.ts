import type { JsonObject } from "@bufbuild/protobuf";

/**
 * A CloudEvents 1.0 envelope in Plexus's profile (JSON event format, structured mode).
 *
 * The profile is stricter than the spec, so every consumer can rely on it: `time`, `dataschema`
 * and `data` are required, `datacontenttype` is always `application/json`, and `data` is the
 * protobuf JSON encoding of the event message named by `type`. Context travels as the
 * `traceparent` (W3C) and `correlationid` extension attributes.
 *
 * The object is its own wire form: `JSON.stringify(event)` is the structured-mode JSON. Build
 * envelopes with `createEvent` and read untrusted ones with `parseCloudEvent`
 * (`@plexus/messaging`); this type is the shape both agree on.
 */
export interface CloudEvent {
  readonly specversion: "1.0";
  /** Unique per event for a given `source`; the inbox dedupes on it. */
  readonly id: string;
  /** Who published it: `/<service>` for Plexus services (a URI-reference). */
  readonly source: string;
  /** The protobuf type name of `data`, e.g. `shop.orders.v1.OrderPlaced`. */
  readonly type: string;
  /** When it happened (RFC 3339). */
  readonly time: string;
  /** The aggregate it is about (e.g. an order id); the outbox keeps order per subject. */
  readonly subject?: string;
  readonly datacontenttype: "application/json";
  /** A stable absolute URI naming the message schema of `data`. */
  readonly dataschema: string;
  /** The event message, JSON-encoded (protobuf JSON mapping). */
  readonly data: JsonObject;
  /** W3C trace context of the publishing span. */
  readonly traceparent?: string;
  /** Correlation id of the interaction that caused the event. */
  readonly correlationid?: string;
}
