import type { JsonObject } from "@bufbuild/protobuf";
import { isWellFormedCorrelationId, parseTraceparent, type CloudEvent } from "@plexus/core";

/** The outcome of reading an untrusted envelope: the event, or why it was refused. */
export type ParseCloudEventResult =
  | { readonly ok: true; readonly event: CloudEvent }
  | { readonly ok: false; readonly reason: string };

export interface ParseCloudEventOptions {
  /**
   * Largest payload accepted, in bytes (UTF-8). Default 1 MiB: the gateway's body limit, so an
   * event can carry what a request could, and a runaway producer cannot exhaust a consumer.
   */
  maxBytes?: number;
}

const defaultMaxBytes = 1024 * 1024;
const maxDataDepth = 64;

const known = new Set([
  "specversion",
  "id",
  "source",
  "type",
  "time",
  "subject",
  "datacontenttype",
  "dataschema",
  "data",
  "traceparent",
  "correlationid",
]);
const extensionName = /^[a-z0-9]{1,20}$/;
const control = /\p{Cc}/u;
const whitespace = /\s/u;
const typePattern = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}$/;
const absoluteUri = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;
const rfc3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;

class Invalid extends Error {}

/**
 * Reads a CloudEvent from the wire (JSON text or bytes) or from an already parsed value, and
 * validates it strictly against Plexus's profile (see `CloudEvent`). Never throws: a consumer
 * dead-letters what this refuses, with `reason`.
 *
 * Refused: non-JSON, non-objects, a `specversion` other than `1.0`, missing or malformed required
 * attributes, `datacontenttype` other than `application/json`, `data_base64`, `data` that is not
 * a JSON object, a malformed `traceparent` or `correlationid`, unknown attributes whose name or
 * value the spec forbids. Unknown but well-formed extension attributes are tolerated and not
 * kept. The returned event is a fresh object holding only the known attributes.
 */
export function parseCloudEvent(
  input: unknown,
  options: ParseCloudEventOptions = {},
): ParseCloudEventResult {
  try {
    return { ok: true, event: validate(decode(input, options.maxBytes ?? defaultMaxBytes)) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message };
    // Anything else is a bug in the validator itself, but a consumer must still never crash.
    return { ok: false, reason: `unreadable envelope: ${String(error)}` };
  }
}

function decode(input: unknown, maxBytes: number): unknown {
  let text: string;
  if (typeof input === "string") {
    if (input.length > maxBytes || Buffer.byteLength(input, "utf8") > maxBytes) {
      throw new Invalid(`envelope larger than ${maxBytes} bytes`);
    }
    text = input;
  } else if (input instanceof Uint8Array) {
    if (input.byteLength > maxBytes) throw new Invalid(`envelope larger than ${maxBytes} bytes`);
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(input);
    } catch {
      throw new Invalid("envelope is not valid UTF-8");
    }
  } else {
    return input;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Invalid("envelope is not JSON");
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function validate(value: unknown): CloudEvent {
  if (!isPlainObject(value)) throw new Invalid("envelope is not a JSON object");
  if (value["specversion"] !== "1.0") {
    throw new Invalid(`specversion must be "1.0", got ${describe(value["specversion"])}`);
  }
  for (const key of Object.keys(value)) {
    if (known.has(key)) continue;
    if (key === "data_base64") throw new Invalid("data_base64 is not supported (JSON data only)");
    if (!extensionName.test(key))
      throw new Invalid(`invalid attribute name ${JSON.stringify(key)}`);
    const v = value[key];
    if (typeof v !== "string" && typeof v !== "boolean" && !Number.isFinite(v)) {
      throw new Invalid(`extension attribute ${key} must be a string, number or boolean`);
    }
  }

  const id = text(value, "id", 256);
  const source = text(value, "source", 512);
  if (whitespace.test(source)) throw new Invalid("source must be a URI-reference");
  const type = text(value, "type", 256);
  if (!typePattern.test(type)) throw new Invalid(`type ${JSON.stringify(type)} is malformed`);
  const time = text(value, "time", 64);
  if (!isRfc3339(time)) throw new Invalid("time must be an RFC 3339 timestamp");
  const datacontenttype = value["datacontenttype"];
  if (datacontenttype !== "application/json") {
    throw new Invalid(
      `datacontenttype must be "application/json", got ${describe(datacontenttype)}`,
    );
  }
  const dataschema = text(value, "dataschema", 512);
  if (!absoluteUri.test(dataschema)) throw new Invalid("dataschema must be an absolute URI");
  if (!("data" in value)) throw new Invalid("data is missing");
  const data = value["data"];
  if (!isPlainObject(data)) throw new Invalid("data must be a JSON object");
  checkJson(data, 0);

  const event: {
    -readonly [K in keyof CloudEvent]: CloudEvent[K];
  } = {
    specversion: "1.0",
    id,
    source,
    type,
    time,
    datacontenttype: "application/json",
    dataschema,
    data: data as JsonObject,
  };
  const subject = optionalText(value, "subject", 512);
  if (subject !== undefined) event.subject = subject;
  const traceparent = optionalText(value, "traceparent", 512);
  if (traceparent !== undefined) {
    if (parseTraceparent(traceparent) === undefined) throw new Invalid("traceparent is malformed");
    event.traceparent = traceparent;
  }
  const correlationid = optionalText(value, "correlationid", 128);
  if (correlationid !== undefined) {
    if (!isWellFormedCorrelationId(correlationid)) throw new Invalid("correlationid is malformed");
    event.correlationid = correlationid;
  }
  return event;
}

function text(object: Record<string, unknown>, key: string, maxLength: number): string {
  const value = optionalText(object, key, maxLength);
  if (value === undefined) throw new Invalid(`${key} is missing`);
  return value;
}

function optionalText(
  object: Record<string, unknown>,
  key: string,
  maxLength: number,
): string | undefined {
  if (!(key in object)) return undefined;
  const value = object[key];
  if (typeof value !== "string") throw new Invalid(`${key} must be a string`);
  if (value.length === 0) throw new Invalid(`${key} must not be empty`);
  if (value.length > maxLength) throw new Invalid(`${key} is longer than ${maxLength} characters`);
  if (control.test(value)) throw new Invalid(`${key} contains control characters`);
  return value;
}

function isRfc3339(value: string): boolean {
  const m = rfc3339.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return false;
  // 60 allows a leap second, as RFC 3339 does.
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (m[9] !== undefined && (Number(m[10]) > 23 || Number(m[11]) > 59)) return false;
  return Number.isFinite(Date.parse(value.toUpperCase()));
}

/** Refuses values JSON cannot carry (when given an object rather than text) and deep nesting. */
function checkJson(value: unknown, depth: number): void {
  if (depth > maxDataDepth) throw new Invalid(`data is nested deeper than ${maxDataDepth} levels`);
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Invalid("data holds a non-finite number");
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) checkJson(item, depth + 1);
    return;
  }
  if (isPlainObject(value)) {
    for (const item of Object.values(value)) checkJson(item, depth + 1);
    return;
  }
  throw new Invalid(`data holds a value JSON cannot carry (${typeof value})`);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) return typeof value;
  return json.length > 40 ? `${json.slice(0, 40)}…` : json;
}
