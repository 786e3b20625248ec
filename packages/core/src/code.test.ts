import { describe, expect, it } from "vitest";
import {
  Code,
  allCodes,
  codeFromConnectName,
  codeFromGrpcStatus,
  codeToConnectName,
  isRetryableCode,
} from "./code.ts";

describe("codes", () => {
  it("are the 16 gRPC codes, numbered 1..16, in order", () => {
    expect(allCodes).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it("round-trip through their Connect names", () => {
    const names = new Set<string>();
    for (const code of allCodes) {
      const name = codeToConnectName(code);
      expect(name).toMatch(/^[a-z_]+$/);
      names.add(name);
      expect(codeFromConnectName(name)).toBe(code);
    }
    expect(names.size).toBe(allCodes.length);
  });

  it("uses Connect's spelling", () => {
    expect(codeToConnectName(Code.Canceled)).toBe("canceled");
    expect(codeToConnectName(Code.DeadlineExceeded)).toBe("deadline_exceeded");
    expect(codeToConnectName(Code.Unauthenticated)).toBe("unauthenticated");
  });

  it("rejects unknown Connect names", () => {
    for (const name of ["", "ok", "NOT_FOUND", "notfound", "cancelled", "toString", "__proto__"]) {
      expect(codeFromConnectName(name)).toBeUndefined();
    }
  });

  it("parses gRPC statuses, rejecting OK and out-of-range values", () => {
    for (const code of allCodes) expect(codeFromGrpcStatus(code)).toBe(code);
    for (const status of [0, 17, -1, 1.5, NaN]) expect(codeFromGrpcStatus(status)).toBeUndefined();
  });

  it("decides retryability in one place: only transient server-side conditions", () => {
    const retryable = allCodes.filter(isRetryableCode);
    expect(retryable.sort()).toEqual(
      [Code.DeadlineExceeded, Code.ResourceExhausted, Code.Unavailable].sort(),
    );
  });
});
