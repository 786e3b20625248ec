import { PlexusError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { httpStatusError, rejection, rejectionKindOf, retryAfterMsOf } from "./errors.ts";
import { isRetryableError } from "./retry.ts";

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
