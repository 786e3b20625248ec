import { describe, expect, it } from "vitest";
import { Code, allCodes, type Code as CodeType } from "./code.ts";
import { codeFromHttpStatus, httpStatusOf, publicCodeOf, toErrorBody } from "./http-mapping.ts";
import { PlexusError, validationError } from "./plexus-error.ts";

/** API.md's statuses and public codes, written out independently of the implementation's table. */
const expected: Record<CodeType, { status: number; publicCode: string }> = {
  [Code.Canceled]: { status: 499, publicCode: "CANCELLED" },
  [Code.Unknown]: { status: 500, publicCode: "INTERNAL" },
  [Code.InvalidArgument]: { status: 400, publicCode: "BAD_REQUEST" },
  [Code.DeadlineExceeded]: { status: 504, publicCode: "GATEWAY_TIMEOUT" },
  [Code.NotFound]: { status: 404, publicCode: "NOT_FOUND" },
  [Code.AlreadyExists]: { status: 409, publicCode: "CONFLICT" },
  [Code.PermissionDenied]: { status: 403, publicCode: "FORBIDDEN" },
  [Code.ResourceExhausted]: { status: 429, publicCode: "RATE_LIMITED" },
  [Code.FailedPrecondition]: { status: 422, publicCode: "FAILED_PRECONDITION" },
  [Code.Aborted]: { status: 409, publicCode: "CONFLICT" },
  [Code.OutOfRange]: { status: 400, publicCode: "BAD_REQUEST" },
  [Code.Unimplemented]: { status: 501, publicCode: "NOT_IMPLEMENTED" },
  [Code.Internal]: { status: 500, publicCode: "INTERNAL" },
  [Code.Unavailable]: { status: 503, publicCode: "SERVICE_UNAVAILABLE" },
  [Code.DataLoss]: { status: 500, publicCode: "INTERNAL" },
  [Code.Unauthenticated]: { status: 401, publicCode: "UNAUTHENTICATED" },
};

const internalCodes = new Set<CodeType>([Code.Unknown, Code.Internal, Code.DataLoss]);
const request = { requestId: "req-1", path: "/api/v1/things", now: new Date(Date.UTC(2025, 0, 2)) };
const secretMessage = "relation users does not exist at /srv/app/db.ts:12 (host db-internal-3)";

describe("code → HTTP → error body", () => {
  for (const code of allCodes) {
    it(`maps code ${code} (${expected[code].publicCode}) to ${expected[code].status}`, () => {
      const error = new PlexusError(code, secretMessage, {
        details: [{ field: "x", message: "bad" }],
      });
      expect(httpStatusOf(error)).toBe(expected[code].status);
      expect(publicCodeOf(error)).toBe(expected[code].publicCode);

      const body = toErrorBody(error, request);
      const internal = internalCodes.has(code);
      // Exactly API.md's shape: no other keys, at either level.
      expect(Object.keys(body)).toEqual(["error"]);
      expect(Object.keys(body.error).sort()).toEqual(
        internal
          ? ["code", "message", "path", "requestId", "timestamp"]
          : ["code", "details", "message", "path", "requestId", "timestamp"],
      );
      expect(body.error.code).toBe(expected[code].publicCode);
      expect(body.error.code).toMatch(/^[A-Z][A-Z_]*$/);
      expect(body.error.requestId).toBe("req-1");
      expect(body.error.path).toBe("/api/v1/things");
      expect(body.error.timestamp).toBe("2025-01-02T00:00:00.000Z");
      if (internal) {
        expect(body.error.message).toBe("internal error");
        expect(JSON.stringify(body)).not.toContain("users");
        expect(JSON.stringify(body)).not.toContain("/srv");
      } else {
        expect(body.error.message).toBe(secretMessage);
        expect(body.error.details).toEqual([{ field: "x", message: "bad" }]);
      }
      // A client sees the error's class: every mapped status is an error status.
      expect(body.error.code).not.toBe("OK");
      expect(expected[code].status).toBeGreaterThanOrEqual(400);
    });
  }

  it("omits details when there are none", () => {
    const body = toErrorBody(new PlexusError(Code.NotFound, "no such user"), request);
    expect(body.error).not.toHaveProperty("details");
  });

  it("stamps the current time by default, as ISO-8601", () => {
    const body = toErrorBody(new PlexusError(Code.NotFound, "x"), { requestId: "r", path: "/" });
    expect(new Date(body.error.timestamp).toISOString()).toBe(body.error.timestamp);
  });

  it("copies only field and message of each detail", () => {
    const detail = { field: "email", message: "invalid", internal: "regex /x/" };
    const body = toErrorBody(validationError([detail]), request);
    expect(body.error.details).toEqual([{ field: "email", message: "invalid" }]);
  });

  it("gives reasons their own status where API.md names one", () => {
    const cases: [string, CodeType, number][] = [
      ["VALIDATION_ERROR", Code.InvalidArgument, 422],
      ["PAYLOAD_TOO_LARGE", Code.InvalidArgument, 413],
      ["PAYLOAD_TOO_LARGE", Code.ResourceExhausted, 413],
      ["UNSUPPORTED_MEDIA_TYPE", Code.InvalidArgument, 415],
      ["IDEMPOTENCY_KEY_REUSED", Code.InvalidArgument, 422],
      ["IDEMPOTENCY_KEY_REUSED", Code.FailedPrecondition, 422],
      ["METHOD_NOT_ALLOWED", Code.Unimplemented, 405],
      ["URI_TOO_LONG", Code.InvalidArgument, 414],
      ["REQUEST_TIMEOUT", Code.DeadlineExceeded, 408],
      ["BAD_GATEWAY", Code.Unavailable, 502],
      ["RATE_LIMITED", Code.ResourceExhausted, 429],
      ["RATE_LIMITED", Code.FailedPrecondition, 429],
    ];
    for (const [reason, code, status] of cases) {
      const error = new PlexusError(code, "m", { reason });
      expect(httpStatusOf(error), reason).toBe(status);
      expect(publicCodeOf(error)).toBe(reason);
      expect(toErrorBody(error, request).error.code).toBe(reason);
    }
  });

  it("keeps the code's status for reasons without their own", () => {
    const error = new PlexusError(Code.NotFound, "m", { reason: "USER_NOT_FOUND" });
    expect(httpStatusOf(error)).toBe(404);
    expect(publicCodeOf(error)).toBe("USER_NOT_FOUND");
    const conflict = new PlexusError(Code.AlreadyExists, "m", { reason: "EMAIL_EXISTS" });
    expect(httpStatusOf(conflict)).toBe(409);
  });

  it("does not take a reason that merely looks like an Object.prototype key", () => {
    const error = new PlexusError(Code.NotFound, "m", { reason: "toString" });
    expect(httpStatusOf(error)).toBe(404);
  });

  it("renders validation errors as API.md's 422 with details", () => {
    const error = validationError([{ field: "items[0].quantity", message: "must be ≥ 1" }]);
    expect(httpStatusOf(error)).toBe(422);
    expect(toErrorBody(error, request)).toEqual({
      error: {
        code: "VALIDATION_ERROR",
        message: "validation failed",
        details: [{ field: "items[0].quantity", message: "must be ≥ 1" }],
        requestId: "req-1",
        timestamp: "2025-01-02T00:00:00.000Z",
        path: "/api/v1/things",
      },
    });
  });
});

describe("codeFromHttpStatus", () => {
  it("maps upstream statuses onto codes", () => {
    const cases: [number, CodeType][] = [
      [400, Code.InvalidArgument],
      [401, Code.Unauthenticated],
      [403, Code.PermissionDenied],
      [404, Code.NotFound],
      [408, Code.DeadlineExceeded],
      [409, Code.Aborted],
      [410, Code.InvalidArgument],
      [422, Code.InvalidArgument],
      [429, Code.ResourceExhausted],
      [500, Code.Unknown],
      [501, Code.Unimplemented],
      [502, Code.Unavailable],
      [503, Code.Unavailable],
      [504, Code.DeadlineExceeded],
    ];
    for (const [status, code] of cases)
      expect(codeFromHttpStatus(status), String(status)).toBe(code);
  });

  it("round-trips the retry-relevant statuses it produces", () => {
    for (const code of [Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted]) {
      expect(codeFromHttpStatus(httpStatusOf(new PlexusError(code, "m")))).toBe(code);
    }
  });
});
