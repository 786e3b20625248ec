import { describe, expect, it } from "vitest";
import { formatGrpcTimeout, parseGrpcTimeout } from "./grpc-timeout.ts";

describe("grpc-timeout", () => {
  it("formats in the finest unit that fits 8 digits, rounding down", () => {
    expect(formatGrpcTimeout(1_500)).toBe("1500m");
    expect(formatGrpcTimeout(99_999_999)).toBe("99999999m");
    expect(formatGrpcTimeout(100_000_000)).toBe("100000S");
    expect(formatGrpcTimeout(0.5)).toBe("0m");
    expect(formatGrpcTimeout(-10)).toBe("0m");
  });

  it("parses every unit and refuses malformed values", () => {
    expect(parseGrpcTimeout("2S")).toBe(2_000);
    expect(parseGrpcTimeout("1M")).toBe(60_000);
    expect(parseGrpcTimeout("1H")).toBe(3_600_000);
    expect(parseGrpcTimeout("1500u")).toBe(1.5);
    expect(parseGrpcTimeout("123456789m")).toBeUndefined(); // 9 digits
    expect(parseGrpcTimeout("10s")).toBeUndefined(); // unit is case-sensitive
  });
});
