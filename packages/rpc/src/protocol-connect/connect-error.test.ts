import { allCodes, Code, PlexusError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { decodeConnectError, encodeConnectError } from "./connect-error.ts";

function roundTrip(error: PlexusError, status = 400): PlexusError {
  return decodeConnectError(status, encodeConnectError(error));
}

describe("Connect error JSON", () => {
  it("round-trips code, message, reason, metadata and field details", () => {
    for (const code of allCodes) {
      const error = new PlexusError(code, "went wrong", {
        reason: "ORDER_NOT_FOUND",
        metadata: { retryAfterMs: "100" },
        details: [{ field: "items[0].quantity", message: "must be positive" }],
      });
      const back = roundTrip(error);
      expect([back.code, back.message, back.reason]).toEqual([
        code,
        "went wrong",
        "ORDER_NOT_FOUND",
      ]);
      expect(back.metadata).toEqual({ retryAfterMs: "100" });
      expect(back.details).toEqual([{ field: "items[0].quantity", message: "must be positive" }]);
    }
  });

  it("writes the standard shape: lowercase code, details with type and unpadded base64", () => {
    const json = JSON.parse(
      Buffer.from(
        encodeConnectError(new PlexusError(Code.NotFound, "no", { reason: "R" })),
      ).toString(),
    ) as { code: string; message: string; details: { type: string; value: string }[] };
    expect(json.code).toBe("not_found");
    expect(json.message).toBe("no");
    expect(json.details[0]!.type).toBe("google.rpc.ErrorInfo");
    expect(json.details[0]!.value).toMatch(/^[A-Za-z0-9+/]+$/);
  });

  it("omits details when there is nothing to say", () => {
    const json = JSON.parse(
      Buffer.from(encodeConnectError(new PlexusError(Code.Internal, ""))).toString(),
    ) as Record<string, unknown>;
    expect(json).toEqual({ code: "internal" });
  });

  it("falls back on the HTTP status for bodies that are not Connect errors", () => {
    const html = decodeConnectError(503, Buffer.from("<html>busy</html>"));
    expect(html.code).toBe(Code.Unavailable);
    const array = decodeConnectError(404, Buffer.from("[1,2]"));
    expect(array.code).toBe(Code.Unimplemented);
    const unknownCode = decodeConnectError(401, Buffer.from('{"code":"nope","message":"m"}'));
    expect([unknownCode.code, unknownCode.message]).toEqual([Code.Unauthenticated, "m"]);
  });

  it("skips details it cannot decode or does not know", () => {
    const body = JSON.stringify({
      code: "aborted",
      details: [
        { type: "google.rpc.ErrorInfo", value: "!!!not base64 proto!!!" },
        { type: "google.rpc.RetryInfo", value: "CgIIAQ" },
        "garbage",
      ],
    });
    const error = decodeConnectError(409, Buffer.from(body));
    expect(error.code).toBe(Code.Aborted);
    expect(error.reason).toBeUndefined();
  });
});
