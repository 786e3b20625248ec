import { PlexusError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { rejection, rejectionKindOf } from "./errors.ts";
import { isRetryableError } from "./retry.ts";

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
