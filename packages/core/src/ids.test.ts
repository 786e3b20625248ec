import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  childTraceparent,
  formatTraceparent,
  isWellFormedCorrelationId,
  newCorrelationId,
  newRequestId,
  parseTraceparent,
  type TraceParent,
} from "./ids.ts";

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length });
const nonZeroHex = (length: number) => hex(length).filter((s) => /[^0]/.test(s));
const validTraceparent = fc.record({
  traceId: nonZeroHex(32),
  spanId: nonZeroHex(16),
  flags: hex(2),
});

describe("parseTraceparent", () => {
  it("round-trips every valid version-00 header through formatTraceparent", () => {
    fc.assert(
      fc.property(validTraceparent, (tp: TraceParent) => {
        const header = formatTraceparent(tp);
        expect(header).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
        const parsed = parseTraceparent(header);
        expect(parsed).toEqual(tp);
        expect(formatTraceparent(parsed!)).toBe(header);
      }),
    );
  });

  it("never throws on arbitrary input, and what it accepts is well-formed", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" })), (value) => {
        const parsed = parseTraceparent(value);
        if (parsed !== undefined) {
          expect(parsed.traceId).toMatch(/^[0-9a-f]{32}$/);
          expect(parsed.spanId).toMatch(/^[0-9a-f]{16}$/);
          expect(parsed.flags).toMatch(/^[0-9a-f]{2}$/);
        }
      }),
    );
  });

  it("rejects mutations of a valid header", () => {
    fc.assert(
      fc.property(validTraceparent, fc.nat(), fc.string({ minLength: 1 }), (tp, at, junk) => {
        const header = formatTraceparent(tp);
        const i = at % header.length;
        // Inserting anything at any position breaks the fixed layout of version 00.
        const mutated = header.slice(0, i) + junk + header.slice(i);
        fc.pre(mutated.trim() !== header);
        expect(parseTraceparent(mutated)).toBeUndefined();
      }),
    );
  });

  it("rejects all-zero trace ids and span ids", () => {
    fc.assert(
      fc.property(validTraceparent, (tp) => {
        expect(parseTraceparent(formatTraceparent({ ...tp, traceId: "0".repeat(32) }))).toBe(
          undefined,
        );
        expect(parseTraceparent(formatTraceparent({ ...tp, spanId: "0".repeat(16) }))).toBe(
          undefined,
        );
      }),
    );
  });

  it("rejects version ff", () => {
    fc.assert(
      fc.property(validTraceparent, (tp) => {
        const header = formatTraceparent(tp).replace(/^00/, "ff");
        expect(parseTraceparent(header)).toBeUndefined();
      }),
    );
  });

  it("rejects uppercase hex", () => {
    fc.assert(
      fc.property(
        validTraceparent.filter((tp) => /[a-f]/.test(tp.traceId + tp.spanId + tp.flags)),
        (tp) => {
          expect(parseTraceparent(formatTraceparent(tp).toUpperCase())).toBeUndefined();
        },
      ),
    );
  });

  it("accepts future versions with extra fields, but not version 00 with them", () => {
    const base = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    expect(parseTraceparent(`01-${base}-extra`)).toEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      flags: "01",
    });
    expect(parseTraceparent(`00-${base}-extra`)).toBeUndefined();
    expect(parseTraceparent(`01-${base}extra`)).toBeUndefined();
  });

  it("handles the W3C example and absent headers", () => {
    expect(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).toEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      flags: "01",
    });
    expect(parseTraceparent(undefined)).toBeUndefined();
    expect(parseTraceparent("")).toBeUndefined();
  });
});

describe("childTraceparent", () => {
  it("keeps the trace id and flags and makes a new span id", () => {
    fc.assert(
      fc.property(validTraceparent, (parent) => {
        const child = childTraceparent(parent);
        expect(child.traceId).toBe(parent.traceId);
        expect(child.flags).toBe(parent.flags);
        expect(child.spanId).toMatch(/^[0-9a-f]{16}$/);
        expect(child.spanId).not.toBe(parent.spanId);
        expect(parseTraceparent(formatTraceparent(child))).toEqual(child);
      }),
    );
  });

  it("starts a new sampled trace without a parent", () => {
    const a = childTraceparent(undefined);
    const b = childTraceparent(undefined);
    expect(a.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.flags).toBe("01");
    expect(a.traceId).not.toBe(b.traceId);
    expect(parseTraceparent(formatTraceparent(a))).toEqual(a);
  });
});

describe("isWellFormedCorrelationId", () => {
  const allowed = fc.constantFrom(
    ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-",
  );

  it("accepts generated ids and safe ids up to 128 characters", () => {
    expect(isWellFormedCorrelationId(newCorrelationId())).toBe(true);
    expect(isWellFormedCorrelationId(newRequestId())).toBe(true);
    fc.assert(
      fc.property(fc.string({ unit: allowed, minLength: 1, maxLength: 128 }), (id) => {
        expect(isWellFormedCorrelationId(id)).toBe(true);
      }),
    );
  });

  it("rejects empty and over-long ids", () => {
    expect(isWellFormedCorrelationId("")).toBe(false);
    expect(isWellFormedCorrelationId("a".repeat(129))).toBe(false);
    fc.assert(
      fc.property(fc.string({ unit: allowed, minLength: 129, maxLength: 500 }), (id) => {
        expect(isWellFormedCorrelationId(id)).toBe(false);
      }),
    );
  });

  it("rejects any id containing whitespace or a control character", () => {
    const bad = fc.constantFrom(
      " ",
      "\t",
      "\n",
      "\r",
      "\r\n",
      "\u0000",
      "\u001b",
      "\u007f",
      "\u0085",
      "\u00a0",
      "\u2028",
      "\u2029",
      "\ufeff",
    );
    fc.assert(
      fc.property(
        fc.string({ unit: allowed, maxLength: 60 }),
        bad,
        fc.string({ unit: allowed, maxLength: 60 }),
        (before, b, after) => {
          expect(isWellFormedCorrelationId(before + b + after)).toBe(false);
        },
      ),
    );
  });

  it("rejects anything outside its alphabet (quotes, slashes, unicode)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }), (id) => {
        fc.pre(/[^A-Za-z0-9._:-]/.test(id));
        expect(isWellFormedCorrelationId(id)).toBe(false);
      }),
    );
  });
});

describe("new ids", () => {
  it("are unique UUIDs", () => {
    const ids = new Set(Array.from({ length: 100 }, () => newRequestId()));
    expect(ids.size).toBe(100);
    expect(newCorrelationId()).toMatch(/^[0-9a-f-]{36}$/);
  });
});
