import { retryAfterMsOf } from "@plexus/core";
import { isRetryableError } from "@plexus/resilience";
import { describe, expect, it } from "vitest";
import { httpStatusError } from "./upstream-response.ts";

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
