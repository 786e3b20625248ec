import type { CloudEvent } from "@plexus/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCloudEvent } from "./parse-cloud-event.ts";

const valid: CloudEvent = {
  specversion: "1.0",
  id: "6f1c1a52-9b7e-4a7f-9d55-0d9f8a3e1c11",
  source: "/orders",
  type: "shop.orders.v1.OrderPlaced",
  time: "2026-01-02T03:04:05.678Z",
  subject: "order-1",
  datacontenttype: "application/json",
  dataschema: "urn:plexus:protobuf:shop.orders.v1.OrderPlaced",
  data: { orderId: "order-1", totalCents: "1250", items: [{ sku: "a", quantity: 2 }] },
  traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  correlationid: "c0ffee-1",
};

function reasonOf(input: unknown): string {
  const result = parseCloudEvent(input);
  if (result.ok) throw new Error("expected a refusal");
  return result.reason;
}

describe("parseCloudEvent", () => {
  it("accepts a valid envelope as text, bytes and object, keeping every attribute", () => {
    const text = JSON.stringify(valid);
    for (const input of [text, new TextEncoder().encode(text), valid]) {
      const result = parseCloudEvent(input);
      expect(result).toEqual({ ok: true, event: valid });
    }
  });

  it("accepts the optional attributes missing", () => {
    const { subject: _s, traceparent: _t, correlationid: _c, ...minimal } = valid;
    expect(parseCloudEvent(minimal)).toEqual({ ok: true, event: minimal });
  });

  it("tolerates well-formed unknown extensions, and drops them", () => {
    const result = parseCloudEvent({ ...valid, partitionkey: "p1", priority: 3, urgent: true });
    expect(result).toEqual({ ok: true, event: valid });
  });

  it.each([
    ["not JSON", "{nope", /not JSON/],
    ["an array", "[]", /not a JSON object/],
    ["null", "null", /not a JSON object/],
    ["a number", "42", /not a JSON object/],
  ])("refuses %s", (_name, input, reason) => {
    expect(reasonOf(input)).toMatch(reason);
  });

  it("refuses invalid UTF-8 and oversized payloads", () => {
    expect(reasonOf(new Uint8Array([0x7b, 0xff, 0x7d]))).toMatch(/UTF-8/);
    const big = JSON.stringify({ ...valid, data: { blob: "x".repeat(2000) } });
    expect(parseCloudEvent(big, { maxBytes: 1000 })).toEqual({
      ok: false,
      reason: "envelope larger than 1000 bytes",
    });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ["wrong specversion", { specversion: "0.3" }, /specversion/],
    ["missing id", { id: undefined }, /id is missing/],
    ["empty id", { id: "" }, /id must not be empty/],
    ["numeric id", { id: 7 }, /id must be a string/],
    ["id with a newline", { id: "a\nb" }, /control characters/],
    ["missing source", { source: undefined }, /source is missing/],
    ["source with spaces", { source: "/my service" }, /URI-reference/],
    ["missing type", { type: undefined }, /type is missing/],
    ["type with spaces", { type: "order placed" }, /type .* malformed/],
    ["missing time", { time: undefined }, /time is missing/],
    ["time not RFC 3339", { time: "yesterday" }, /RFC 3339/],
    ["impossible date", { time: "2026-02-30T00:00:00Z" }, /RFC 3339/],
    ["impossible hour", { time: "2026-02-03T24:00:00Z" }, /RFC 3339/],
    ["time without zone", { time: "2026-02-03T10:00:00" }, /RFC 3339/],
    ["other content type", { datacontenttype: "application/xml" }, /datacontenttype/],
    ["missing content type", { datacontenttype: undefined }, /datacontenttype/],
    ["relative dataschema", { dataschema: "schemas/order" }, /absolute URI/],
    ["missing dataschema", { dataschema: undefined }, /dataschema is missing/],
    ["missing data", { data: undefined }, /data is missing/],
    ["array data", { data: [1, 2] }, /data must be a JSON object/],
    ["string data", { data: "hello" }, /data must be a JSON object/],
    ["null data", { data: null }, /data must be a JSON object/],
    ["binary data", { data_base64: "AAAA" }, /data_base64/],
    ["bad traceparent", { traceparent: "00-zz-00-01" }, /traceparent/],
    [
      "all-zero trace id",
      { traceparent: `00-${"0".repeat(32)}-00f067aa0ba902b7-01` },
      /traceparent/,
    ],
    ["bad correlation id", { correlationid: "has space" }, /correlationid/],
    ["empty subject", { subject: "" }, /subject must not be empty/],
    ["uppercase extension name", { Partition: "x" }, /invalid attribute name/],
    ["object extension", { partition: { a: 1 } }, /extension attribute/],
    ["null extension", { partition: null }, /extension attribute/],
  ])("refuses %s", (_name, patch, reason) => {
    const envelope: Record<string, unknown> = { ...valid };
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) delete envelope[key];
      else envelope[key] = value;
    }
    // Through text, as it would arrive from a broker.
    expect(reasonOf(JSON.stringify(envelope))).toMatch(reason);
  });

  it("refuses a __proto__ attribute arriving as text", () => {
    const text = JSON.stringify(valid).replace(/^\{/, '{"__proto__":{"polluted":true},');
    expect(reasonOf(text)).toMatch(/invalid attribute name/);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("refuses objects holding values JSON cannot carry", () => {
    expect(reasonOf({ ...valid, data: { at: new Date() } })).toMatch(/JSON cannot carry/);
    expect(reasonOf({ ...valid, data: { n: Number.NaN } })).toMatch(/non-finite/);
    expect(reasonOf({ ...valid, data: { f: () => 1 } })).toMatch(/JSON cannot carry/);
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 100; i++) deep = deep["a"] = {};
    expect(reasonOf({ ...valid, data: root })).toMatch(/nested deeper/);
  });

  it("returns a fresh object holding only the known attributes", () => {
    const input = { ...valid, extra: "x" };
    const result = parseCloudEvent(input);
    expect(result.ok && result.event).not.toBe(input);
    expect(result.ok && Object.keys(result.event)).not.toContain("extra");
  });
});

/** Arbitrary valid envelopes, within the profile's rules. */
const identifier = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/);
const printable = fc
  .string({ minLength: 1, maxLength: 60, unit: "grapheme" })
  .filter((s) => !/\p{Cc}/u.test(s));
const jsonData = fc.dictionary(
  fc.string({ maxLength: 12 }).filter((k) => k !== "__proto__"),
  fc.jsonValue({ maxDepth: 4 }),
  { maxKeys: 6 },
);
const validEnvelope = fc.record(
  {
    specversion: fc.constant("1.0" as const),
    id: printable,
    source: fc.stringMatching(/^\/[a-z][a-z0-9_]{0,20}$/),
    type: identifier,
    time: fc
      .date({
        min: new Date("1970-01-01T00:00:00Z"),
        max: new Date("9999-12-31T23:59:59Z"),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString()),
    subject: printable,
    datacontenttype: fc.constant("application/json" as const),
    dataschema: identifier.map((t) => `urn:plexus:protobuf:${t}`),
    data: jsonData,
    traceparent: fc
      .tuple(fc.stringMatching(/^[0-9a-f]{32}$/), fc.stringMatching(/^[0-9a-f]{16}$/))
      .filter(([t, s]) => !/^0+$/.test(t) && !/^0+$/.test(s))
      .map(([t, s]) => `00-${t}-${s}-01`),
    correlationid: fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/),
  },
  {
    requiredKeys: [
      "specversion",
      "id",
      "source",
      "type",
      "time",
      "datacontenttype",
      "dataschema",
      "data",
    ],
  },
);

describe("parseCloudEvent properties", () => {
  it("round-trips every valid envelope through JSON unchanged", () => {
    fc.assert(
      fc.property(validEnvelope, (envelope) => {
        const result = parseCloudEvent(JSON.stringify(envelope));
        expect(result).toEqual({ ok: true, event: JSON.parse(JSON.stringify(envelope)) });
      }),
      { numRuns: 300 },
    );
  });

  it("never throws, whatever arrives (text, bytes or values)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.uint8Array({ maxLength: 200 }),
          fc.anything(),
          validEnvelope.chain((e) =>
            fc
              .record({ key: fc.constantFrom(...Object.keys(e)), value: fc.anything() })
              .map(({ key, value }) => ({
                ...e,
                [key]: value,
              })),
          ),
        ),
        (input) => {
          const result = parseCloudEvent(input);
          expect(typeof result.ok).toBe("boolean");
          if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("refuses a valid envelope that lost any required attribute", () => {
    const required = [
      "specversion",
      "id",
      "source",
      "type",
      "time",
      "datacontenttype",
      "dataschema",
      "data",
    ];
    fc.assert(
      fc.property(validEnvelope, fc.constantFrom(...required), (envelope, key) => {
        const broken: Record<string, unknown> = { ...envelope };
        delete broken[key];
        expect(parseCloudEvent(JSON.stringify(broken)).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses a required string attribute replaced by a non-string", () => {
    const strings = ["id", "source", "type", "time", "dataschema"];
    fc.assert(
      fc.property(
        validEnvelope,
        fc.constantFrom(...strings),
        fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string()), fc.object()),
        (envelope, key, value) => {
          expect(parseCloudEvent(JSON.stringify({ ...envelope, [key]: value })).ok).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("accepts exactly what it returns: parsing a parsed event gives the same event", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        const first = parseCloudEvent(input);
        if (!first.ok) return;
        expect(parseCloudEvent(JSON.stringify(first.event))).toEqual(first);
      }),
      { numRuns: 300 },
    );
  });
});
