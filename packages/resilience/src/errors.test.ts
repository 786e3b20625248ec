import { Code, PlexusError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import {
  httpStatusError,
  parsePushbackMs,
  parseRetryAfter,
  rejection,
  rejectionKindOf,
  retryAfterMsOf,
} from "./errors.ts";
import { isRetryableError } from "./retry.ts";

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
    expect(retryAfterMsOf(new PlexusError(Code.Unavailable, "x"))).toBeUndefined();
    expect(
      retryAfterMsOf(new PlexusError(Code.Unavailable, "x", { metadata: { retryAfterMs: "250" } })),
    ).toBe(250);
    expect(
      retryAfterMsOf(new PlexusError(Code.Unavailable, "x", { metadata: { retryAfterMs: "no" } })),
    ).toBe(-1);
    expect(retryAfterMsOf(new Error("x"))).toBeUndefined();
  });
});

describe("HTTP statuses", () => {
  it.each([
    [408, true],
    [429, true],
    [502, true],
    [503, true],
    [504, true],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [409, false],
    [422, false],
    [500, false],
    [501, false],
  ])("status %i is retryable: %s", (status, retryable) => {
    expect(isRetryableError(httpStatusError(status, undefined, 0))).toBe(retryable);
  });

  it("carries Retry-After as the pushback", () => {
    expect(retryAfterMsOf(httpStatusError(429, ["7"], 0))).toBe(7_000);
  });
});

describe("local rejections", () => {
  it("are marked out of band: a copy of the error (as after the wire) is an ordinary error", () => {
    const error = rejection("circuit-open", "open", 1_000);
    expect(rejectionKindOf(error)).toBe("circuit-open");
    expect(isRetryableError(error)).toBe(false);
    const copy = new PlexusError(error.code, error.message, { metadata: error.metadata });
    expect(rejectionKindOf(copy)).toBeUndefined();
    expect(isRetryableError(copy)).toBe(true);
    expect(copy.metadata).toEqual({ retryAfterMs: "1000" });
  });
});
