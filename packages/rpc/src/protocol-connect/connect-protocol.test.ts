import { allCodes, Code } from "@plexus/core";
import { describe, expect, it } from "vitest";
import {
  codeFromConnectHttpStatus,
  connectHttpStatus,
  parseContentType,
  parseTimeoutMs,
} from "./connect-protocol.ts";

describe("parseContentType", () => {
  it("accepts the unary Connect types, with a UTF-8 charset on JSON", () => {
    expect(parseContentType("application/proto")).toBe("proto");
    expect(parseContentType("application/json")).toBe("json");
    expect(parseContentType("application/json; charset=utf-8")).toBe("json");
    expect(parseContentType("application/json;charset=UTF-8")).toBe("json");
    expect(parseContentType('Application/JSON; charset="utf8"')).toBe("json");
  });

  it("rejects streaming, gRPC, other charsets and anything else", () => {
    for (const value of [
      undefined,
      "",
      "application/connect+proto",
      "application/grpc",
      "application/json; charset=latin1",
      "application/protobuf",
      "text/plain",
      "application/json-seq",
    ]) {
      expect(parseContentType(value)).toBeUndefined();
    }
  });
});

describe("parseTimeoutMs", () => {
  it("reads 1 to 10 digits", () => {
    expect(parseTimeoutMs(undefined)).toBeUndefined();
    expect(parseTimeoutMs("0")).toBe(0);
    expect(parseTimeoutMs("1500")).toBe(1500);
    expect(parseTimeoutMs("9999999999")).toBe(9_999_999_999);
  });

  it("flags malformed values with null", () => {
    for (const value of ["", "-1", "1.5", "1e3", "12345678901", " 1", "abc"]) {
      expect(parseTimeoutMs(value)).toBeNull();
    }
  });
});

describe("Connect's HTTP status tables", () => {
  it("maps every code to the status the Connect spec lists", () => {
    const expected: Record<Code, number> = {
      [Code.Canceled]: 499,
      [Code.Unknown]: 500,
      [Code.InvalidArgument]: 400,
      [Code.DeadlineExceeded]: 504,
      [Code.NotFound]: 404,
      [Code.AlreadyExists]: 409,
      [Code.PermissionDenied]: 403,
      [Code.ResourceExhausted]: 429,
      [Code.FailedPrecondition]: 400,
      [Code.Aborted]: 409,
      [Code.OutOfRange]: 400,
      [Code.Unimplemented]: 501,
      [Code.Internal]: 500,
      [Code.Unavailable]: 503,
      [Code.DataLoss]: 500,
      [Code.Unauthenticated]: 401,
    };
    for (const code of allCodes) expect(connectHttpStatus(code)).toBe(expected[code]);
  });

  it("derives a code from a bare HTTP status as Connect clients do", () => {
    expect(codeFromConnectHttpStatus(400)).toBe(Code.Internal);
    expect(codeFromConnectHttpStatus(401)).toBe(Code.Unauthenticated);
    expect(codeFromConnectHttpStatus(403)).toBe(Code.PermissionDenied);
    expect(codeFromConnectHttpStatus(404)).toBe(Code.Unimplemented);
    for (const status of [429, 502, 503, 504]) {
      expect(codeFromConnectHttpStatus(status)).toBe(Code.Unavailable);
    }
    for (const status of [415, 418, 500, 501]) {
      expect(codeFromConnectHttpStatus(status)).toBe(Code.Unknown);
    }
  });
});
