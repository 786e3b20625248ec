import type { CloudEvent } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { fromKafkaRecord, toKafkaRecord } from "./cloud-event-binding.ts";

const event: CloudEvent = {
  specversion: "1.0",
  id: "e-1",
  source: "/orders",
  type: "shop.orders.v1.OrderPlaced",
  time: "2026-01-02T03:04:05.678Z",
  subject: "o-1",
  datacontenttype: "application/json",
  dataschema: "urn:plexus:shop.orders.v1.OrderPlaced",
  data: { orderId: "o-1", lines: [{ sku: "s", quantity: 2 }] },
  traceparent: `00-${"a".repeat(32)}-${"b".repeat(16)}-01`,
  correlationid: "corr-1",
};

function read(record: { headers: Record<string, string>; value: Buffer }) {
  return fromKafkaRecord(new Map(Object.entries(record.headers)), record.value);
}

describe("CloudEvents Kafka binding (binary mode)", () => {
  it("carries the attributes in ce_* headers and data alone in the value, keyed by subject", () => {
    const record = toKafkaRecord(event);
    expect(record.key).toBe("o-1");
    expect(JSON.parse(record.value.toString("utf8"))).toEqual(event.data);
    expect(record.headers).toEqual({
      ce_specversion: "1.0",
      "content-type": "application/json",
      ce_id: "e-1",
      ce_source: "/orders",
      ce_type: "shop.orders.v1.OrderPlaced",
      ce_time: "2026-01-02T03:04:05.678Z",
      ce_subject: "o-1",
      ce_dataschema: "urn:plexus:shop.orders.v1.OrderPlaced",
      ce_traceparent: event.traceparent,
      ce_correlationid: "corr-1",
      traceparent: event.traceparent,
    });
    expect(read(record)).toMatchObject({ ok: true, event });
  });

  it("keys an event without subject by its id", () => {
    const { subject: _, ...bare } = event;
    expect(toKafkaRecord(bare).key).toBe("e-1");
  });

  it("reads a structured-mode record (no ce_ headers) as a whole envelope", () => {
    const result = fromKafkaRecord(new Map(), Buffer.from(JSON.stringify(event)));
    expect(result).toMatchObject({ ok: true, event });
  });

  it("refuses, without throwing, what is no valid event, keeping the raw payload", () => {
    const record = toKafkaRecord(event);
    const bad = (headers: Record<string, string>, value: Buffer) => read({ headers, value });
    expect(bad(record.headers, Buffer.from("not json"))).toMatchObject({
      ok: false,
      reason: "data is not JSON",
    });
    expect(bad(record.headers, Buffer.from([0xff, 0xfe]))).toMatchObject({
      reason: "data is not valid UTF-8",
    });
    expect(bad({ ...record.headers, ce_time: "yesterday" }, record.value)).toMatchObject({
      ok: false,
      reason: "time must be an RFC 3339 timestamp",
    });
    expect(bad({ ...record.headers, "content-type": "text/plain" }, record.value).ok).toBe(false);
    expect(bad(record.headers, Buffer.from("[1]")).ok).toBe(false);
    const poison = fromKafkaRecord(new Map(), Buffer.from("garbage"));
    expect(poison.ok).toBe(false);
    expect(poison.raw()).toBe("garbage");
    expect(fromKafkaRecord(new Map(), undefined).ok).toBe(false);
  });
});
