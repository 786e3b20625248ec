import { describe, expect, it } from "vitest";
import {
  deadlineFromHeaders,
  formatGrpcTimeout,
  parseGrpcTimeout,
  writeDeadlineHeader,
} from "./deadline-headers.ts";

describe("deadline headers", () => {
  it("formats grpc-timeout in the finest unit that fits 8 digits, rounding down", () => {
    expect(formatGrpcTimeout(1_500)).toBe("1500m");
    expect(formatGrpcTimeout(99_999_999)).toBe("99999999m");
    expect(formatGrpcTimeout(100_000_000)).toBe("100000S");
    expect(formatGrpcTimeout(0.5)).toBe("0m");
    expect(formatGrpcTimeout(-10)).toBe("0m");
  });

  it("parses grpc-timeout in every unit and refuses malformed values", () => {
    expect(parseGrpcTimeout("2S")).toBe(2_000);
    expect(parseGrpcTimeout("1M")).toBe(60_000);
    expect(parseGrpcTimeout("1H")).toBe(3_600_000);
    expect(parseGrpcTimeout("1500u")).toBe(1.5);
    expect(parseGrpcTimeout("123456789m")).toBeUndefined(); // 9 digits
    expect(parseGrpcTimeout("10s")).toBeUndefined(); // unit is case-sensitive
  });

  it("reads the earliest of the three headers as an absolute deadline", () => {
    const now = 10_000;
    expect(deadlineFromHeaders(new Headers({ "connect-timeout-ms": "500" }), now)).toBe(10_500);
    expect(deadlineFromHeaders({ "grpc-timeout": "1S", "x-plexus-timeout-ms": "300" }, now)).toBe(
      10_300,
    );
    expect(deadlineFromHeaders({ "connect-timeout-ms": "-1" }, now)).toBeUndefined();
    expect(deadlineFromHeaders({}, now)).toBeUndefined();
  });

  it("writes the remaining time in each protocol's header, nothing without a deadline", () => {
    const target: Record<string, string> = {};
    writeDeadlineHeader(target, "connect", 10_750.9, 10_000);
    writeDeadlineHeader(target, "grpc", 12_000, 10_000);
    writeDeadlineHeader(target, "http", 10_100, 10_000);
    writeDeadlineHeader(target, "http", undefined, 10_000);
    expect(target).toEqual({
      "connect-timeout-ms": "750",
      "grpc-timeout": "2000m",
      "x-plexus-timeout-ms": "100",
    });
  });
});
