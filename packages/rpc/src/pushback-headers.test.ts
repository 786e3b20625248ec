import type { OutgoingHttpHeaders } from "node:http";
import { Code, PlexusError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import {
  pushbackFromHeaders,
  withHeaderPushback,
  writePushbackHeaders,
} from "./pushback-headers.ts";

function written(retryAfterMs: string | undefined): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  const metadata = retryAfterMs === undefined ? undefined : { retryAfterMs, other: "x" };
  writePushbackHeaders(new PlexusError(Code.Unavailable, "busy", { metadata }), headers);
  return headers;
}

describe("writePushbackHeaders", () => {
  it("mirrors a delay as grpc-retry-pushback-ms and Retry-After in whole seconds, rounded up", () => {
    expect(written("250")).toEqual({ "grpc-retry-pushback-ms": "250", "retry-after": "1" });
    expect(written("2000")).toEqual({ "grpc-retry-pushback-ms": "2000", "retry-after": "2" });
    expect(written("2001")).toEqual({ "grpc-retry-pushback-ms": "2001", "retry-after": "3" });
    expect(written("0")).toEqual({ "grpc-retry-pushback-ms": "0", "retry-after": "0" });
  });

  it("says 'do not retry' (-1) for a negative or malformed value, without Retry-After", () => {
    for (const value of ["-1", "-30", "soon", "1.5", "12\r\nx-injected: 1"]) {
      expect(written(value)).toEqual({ "grpc-retry-pushback-ms": "-1" });
    }
  });

  it("writes nothing without a pushback, and no other metadata entry ever", () => {
    expect(written(undefined)).toEqual({});
  });
});

describe("pushbackFromHeaders", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");

  it("prefers grpc-retry-pushback-ms, and reads a negative or malformed one as 'do not retry'", () => {
    expect(pushbackFromHeaders({ "grpc-retry-pushback-ms": "250" }, now)).toBe("250");
    expect(pushbackFromHeaders({ "grpc-retry-pushback-ms": "250", "retry-after": "9" }, now)).toBe(
      "250",
    );
    expect(pushbackFromHeaders({ "grpc-retry-pushback-ms": "-5", "retry-after": "9" }, now)).toBe(
      "-1",
    );
    expect(pushbackFromHeaders({ "grpc-retry-pushback-ms": "later" }, now)).toBe("-1");
    expect(pushbackFromHeaders({ "grpc-retry-pushback-ms": ["100", "200"] }, now)).toBe("100");
  });

  it("falls back to Retry-After, delay-seconds or an HTTP-date against the given now", () => {
    expect(pushbackFromHeaders({ "retry-after": "2" }, now)).toBe("2000");
    expect(pushbackFromHeaders({ "retry-after": "Wed, 01 Jan 2025 00:00:03 GMT" }, now)).toBe(
      "3000",
    );
    expect(pushbackFromHeaders({ "retry-after": "Tue, 31 Dec 2024 23:00:00 GMT" }, now)).toBe("0");
  });

  it("ignores a malformed Retry-After and answers nothing without either header", () => {
    expect(pushbackFromHeaders({ "retry-after": "soon" }, now)).toBeUndefined();
    expect(pushbackFromHeaders({ "retry-after": "-2" }, now)).toBeUndefined();
    expect(pushbackFromHeaders({ "content-type": "application/json" }, now)).toBeUndefined();
  });
});

describe("withHeaderPushback", () => {
  const details = [{ field: "id", message: "is busy" }];

  it("fills metadata.retryAfterMs and keeps everything else the error carried", () => {
    const error = new PlexusError(Code.ResourceExhausted, "slow down", {
      reason: "QUOTA",
      details,
      metadata: { region: "eu" },
    });
    const filled = withHeaderPushback(error, { "retry-after": "2" }, 0);
    expect([filled.code, filled.message, filled.reason]).toEqual([
      Code.ResourceExhausted,
      "slow down",
      "QUOTA",
    ]);
    expect(filled.details).toEqual(details);
    expect(filled.metadata).toEqual({ region: "eu", retryAfterMs: "2000" });
  });

  it("keeps a pushback the body already states, and the error itself when there is none", () => {
    const stated = new PlexusError(Code.Unavailable, "x", { metadata: { retryAfterMs: "250" } });
    expect(withHeaderPushback(stated, { "retry-after": "1" }, 0)).toBe(stated);
    const plain = new PlexusError(Code.Unavailable, "x");
    expect(withHeaderPushback(plain, {}, 0)).toBe(plain);
  });
});
