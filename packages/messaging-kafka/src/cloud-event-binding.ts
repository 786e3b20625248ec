import type { JsonObject } from "@bufbuild/protobuf";
import type { CloudEvent } from "@plexus/core";
import { parseCloudEvent, type ParseCloudEventResult } from "@plexus/messaging";

/**
 * The CloudEvents Kafka protocol binding, binary content mode: the attributes travel as `ce_*`
 * headers, `datacontenttype` as `content-type`, and the record's value is `data` alone (JSON).
 * Consumers that only read headers (routing, tracing, filtering) never parse the value.
 */
const attributes = [
  "id",
  "source",
  "type",
  "time",
  "subject",
  "dataschema",
  "traceparent",
  "correlationid",
] as const satisfies readonly (keyof CloudEvent)[];

/** Largest value accepted: parseCloudEvent's own limit for a whole envelope (1 MiB). */
const maxValueBytes = 1024 * 1024;

/** A Kafka record as the broker produces it and reads it back. */
export interface KafkaRecord {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Record<string, string>;
}

/**
 * Encodes an event (already validated) as a record. The key is the event's `subject` (its
 * aggregate), else its id: the records of one aggregate land in one partition, in order.
 * `traceparent` is also sent as the bare W3C header, which tracing tools read on Kafka records.
 */
export function toKafkaRecord(event: CloudEvent): KafkaRecord {
  const headers: Record<string, string> = {
    ce_specversion: event.specversion,
    "content-type": event.datacontenttype,
  };
  for (const name of attributes) {
    const value = event[name];
    if (value !== undefined) headers[`ce_${name}`] = value;
  }
  if (event.traceparent !== undefined) headers["traceparent"] = event.traceparent;
  return {
    key: event.subject ?? event.id,
    value: Buffer.from(JSON.stringify(event.data)),
    headers,
  };
}

/** The outcome of reading a record: the event, or why not, with the payload as received. */
export type ReadRecordResult = ParseCloudEventResult & { readonly raw: () => string };

/**
 * Reads a record back into a validated event. A record without `ce_specversion` is read as a
 * structured-mode envelope (the whole event as JSON in the value), as a foreign producer may send.
 * Never throws: what this refuses is dead-lettered with `raw()` and the reason.
 */
export function fromKafkaRecord(
  headers: ReadonlyMap<string, string>,
  value: Buffer | undefined,
): ReadRecordResult {
  const bytes = value ?? Buffer.alloc(0);
  const raw = (): string => bytes.toString("utf8");
  const specversion = headers.get("ce_specversion");
  if (specversion === undefined) return { ...parseCloudEvent(bytes), raw };
  const data = readData(bytes);
  if (typeof data === "string") return { ok: false, reason: data, raw };
  const envelope: Record<string, unknown> = {
    specversion,
    datacontenttype: headers.get("content-type"),
    data,
  };
  for (const name of attributes) {
    const header = headers.get(`ce_${name}`);
    if (header !== undefined) envelope[name] = header;
  }
  return { ...parseCloudEvent(envelope), raw };
}

/** The JSON of a binary-mode value, or why it is unreadable. */
function readData(bytes: Buffer): JsonObject | string {
  if (bytes.byteLength > maxValueBytes) return `data larger than ${maxValueBytes} bytes`;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return "data is not valid UTF-8";
  }
  try {
    return JSON.parse(text) as JsonObject;
  } catch {
    return "data is not JSON";
  }
}
