import { Code, PlexusError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { toWireError, wireCopy } from "./wire-error.ts";

describe("toWireError / wireCopy", () => {
  it("hides an unexpected error behind Unknown and keeps PlexusErrors as they are", () => {
    const secret = new Error("SELECT * FROM users");
    const hidden = toWireError(secret);
    expect(hidden.code).toBe(Code.Unknown);
    expect(hidden.message).not.toContain("SELECT");
    const mine = new PlexusError(Code.NotFound, "gone");
    expect(toWireError(mine)).toBe(mine);
  });

  it("copies what crosses the wire and drops the cause", () => {
    const original = new PlexusError(Code.Aborted, "conflict", {
      reason: "R",
      cause: new Error("internal"),
      details: [{ field: "f", message: "m" }],
    });
    const copy = wireCopy(original);
    expect(copy).not.toBe(original);
    expect(copy.cause).toBeUndefined();
    expect([copy.code, copy.message, copy.reason, copy.details]).toEqual([
      Code.Aborted,
      "conflict",
      "R",
      [{ field: "f", message: "m" }],
    ]);
  });
});
