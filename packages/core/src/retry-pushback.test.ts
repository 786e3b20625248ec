import { describe, expect, it } from "vitest";
import { Code } from "./code.ts";
import { PlexusError } from "./plexus-error.ts";
import { parsePushbackMs, parseRetryAfter, retryAfterMsOf } from "./retry-pushback.ts";

describe("pushback and Retry-After", () => {
  it("parses grpc-retry-pushback-ms as gRFC A6 defines it: negative or unparseable means no retry", () => {
    expect(parsePushbackMs("0")).toBe(0);
    expect(parsePushbackMs("1500")).toBe(1_500);
    expect(parsePushbackMs("-5")).toBe(-1);
    expect(parsePushbackMs("01")).toBe(-1); // unnecessary leading zero
    expect(parsePushbackMs("1.5")).toBe(-1);
    expect(parsePushbackMs("")).toBe(-1);
    expect(parsePushbackMs("2147483648")).toBe(-1); // past a signed 32-bit integer
  });

  it("parses Retry-After as delay-seconds or an HTTP-date, and ignores garbage", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3_000);
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:00:10 GMT", now)).toBe(10_000);
    expect(parseRetryAfter("Tue, 31 Dec 2024 00:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it("reads the pushback an error carries", () => {
    const withPushback = (value: string) =>
      new PlexusError(Code.Unavailable, "x", { metadata: { retryAfterMs: value } });
    expect(retryAfterMsOf(new PlexusError(Code.Unavailable, "x"))).toBeUndefined();
    expect(retryAfterMsOf(withPushback("250"))).toBe(250);
    expect(retryAfterMsOf(withPushback("no"))).toBe(-1);
    expect(retryAfterMsOf(new Error("x"))).toBeUndefined();
  });
});
