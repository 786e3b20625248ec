import { Code, PlexusError, type CallContext } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { readContextHeaders, writeContextHeaders } from "./propagation.ts";

const context: CallContext = {
  correlationId: "corr-1",
  requestId: "req-1",
  trace: { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", flags: "01" },
  principal: { subject: "user-1", tier: "pro" },
  idempotencyKey: "key 1",
  caller: "orders",
};

describe("context headers", () => {
  it("round-trip what a server continues from", () => {
    const headers: Record<string, string> = {};
    writeContextHeaders(context, headers);
    expect(headers["traceparent"]).toBe("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    const read = readContextHeaders(headers);
    expect(read).toEqual({
      correlationId: "corr-1",
      trace: context.trace,
      principal: { subject: "user-1", tier: "pro" },
      idempotencyKey: "key 1",
      caller: "orders",
    });
  });

  it("drops malformed optional values instead of echoing them", () => {
    const read = readContextHeaders({
      "x-correlation-id": "bad id\r\nx-injected: 1",
      traceparent: "00-00000000000000000000000000000000-b7ad6b7169203331-01",
      "x-plexus-caller": "a b",
      "x-plexus-principal-subject": "",
    });
    expect(read).toEqual({
      correlationId: undefined,
      trace: undefined,
      principal: undefined,
      idempotencyKey: undefined,
      caller: undefined,
    });
  });

  it("rejects a malformed idempotency key rather than silently dropping it", () => {
    for (const key of ["", "k".repeat(256), "tab\there"]) {
      const read = readContextHeaders({ "idempotency-key": key });
      expect(read).toBeInstanceOf(PlexusError);
      expect((read as PlexusError).code).toBe(Code.InvalidArgument);
    }
  });

  it("takes the first value of a repeated header", () => {
    const read = readContextHeaders({ "x-correlation-id": ["first", "second"] });
    expect((read as { correlationId: string }).correlationId).toBe("first");
  });
});
