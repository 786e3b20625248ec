import { create } from "@bufbuild/protobuf";
import { Code, PlexusError, parseTraceparent, runInContext } from "@plexus/core";
import { createFakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { OrderPlacedSchema, OrderShippedSchema } from "../test/test-events.ts";
import { createEvent, dataschemaOf, decodeEventData, eventTypeOf } from "./create-event.ts";
import { contextFromEvent } from "./event-context.ts";
import { parseCloudEvent } from "./parse-cloud-event.ts";

describe("createEvent", () => {
  it("wraps a protobuf message: type and dataschema from its schema, data as protobuf JSON", () => {
    const clock = createFakeClock(Date.parse("2026-03-04T05:06:07.000Z"));
    const event = createEvent(
      OrderPlacedSchema,
      { orderId: "o-1", totalCents: 1250n },
      { source: "/orders", subject: "o-1", clock },
    );
    expect(event).toMatchObject({
      specversion: "1.0",
      source: "/orders",
      subject: "o-1",
      type: "test.orders.v1.OrderPlaced",
      time: "2026-03-04T05:06:07.000Z",
      datacontenttype: "application/json",
      dataschema: "urn:plexus:protobuf:test.orders.v1.OrderPlaced",
      data: { orderId: "o-1", totalCents: "1250" },
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(eventTypeOf(OrderPlacedSchema)).toBe(event.type);
    expect(dataschemaOf(OrderPlacedSchema)).toBe(event.dataschema);
    expect(parseCloudEvent(JSON.stringify(event))).toEqual({ ok: true, event });
  });

  it("accepts a created message and explicit attributes", () => {
    const message = create(OrderPlacedSchema, { orderId: "o-2" });
    const event = createEvent(OrderPlacedSchema, message, {
      source: "/orders",
      id: "evt-1",
      time: new Date("2026-01-01T00:00:00Z"),
      type: "custom.Type",
      dataschema: "https://example.com/schemas/order",
    });
    expect(event).toMatchObject({
      id: "evt-1",
      type: "custom.Type",
      time: "2026-01-01T00:00:00.000Z",
    });
    expect(event.subject).toBeUndefined();
  });

  it("stamps the current correlation id and, as its creation context, the current span", () => {
    const trace = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    const event = runInContext({ correlationId: "corr-1", requestId: "r", trace }, () =>
      createEvent(OrderPlacedSchema, { orderId: "o" }, { source: "/orders" }),
    );
    expect(event.correlationid).toBe("corr-1");
    expect(parseTraceparent(event.traceparent)).toEqual(trace);
  });

  it("starts a new correlation and trace without a context", () => {
    const a = createEvent(OrderPlacedSchema, {}, { source: "/orders" });
    const b = createEvent(OrderPlacedSchema, {}, { source: "/orders" });
    expect(a.correlationid).toBeDefined();
    expect(a.correlationid).not.toBe(b.correlationid);
    expect(parseTraceparent(a.traceparent)?.traceId).not.toBe(
      parseTraceparent(b.traceparent)?.traceId,
    );
  });

  it("refuses attributes that would make an invalid envelope", () => {
    expect(() => createEvent(OrderPlacedSchema, {}, { source: "has space" })).toThrow(PlexusError);
    expect(() => createEvent(OrderPlacedSchema, {}, { source: "/o", subject: "" })).toThrow(
      /subject must not be empty/,
    );
  });
});

describe("decodeEventData", () => {
  it("decodes the data back into the message", () => {
    const event = createEvent(
      OrderPlacedSchema,
      { orderId: "o-1", totalCents: 7n },
      { source: "/orders" },
    );
    const message = decodeEventData(OrderPlacedSchema, event) as unknown as Record<string, unknown>;
    expect(message["orderId"]).toBe("o-1");
    expect(message["totalCents"]).toBe(7n);
  });

  it("ignores fields a newer producer added", () => {
    const event = createEvent(OrderPlacedSchema, { orderId: "o-1" }, { source: "/orders" });
    const newer = { ...event, data: { ...event.data, addedLater: true } };
    expect(decodeEventData(OrderPlacedSchema, newer)).toMatchObject({ orderId: "o-1" });
  });

  it("refuses another type and data that does not fit", () => {
    const event = createEvent(OrderPlacedSchema, { orderId: "o-1" }, { source: "/orders" });
    expect(() => decodeEventData(OrderShippedSchema, event)).toThrow(
      /not a test.orders.v1.OrderShipped/,
    );
    const bad = { ...event, data: { totalCents: "not a number" } };
    try {
      decodeEventData(OrderPlacedSchema, bad);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PlexusError);
      expect((error as PlexusError).code).toBe(Code.InvalidArgument);
    }
  });
});

describe("contextFromEvent", () => {
  it("continues the publisher's correlation and trace, with the source as caller", () => {
    const event = createEvent(
      OrderPlacedSchema,
      {},
      {
        source: "/orders",
        context: {
          correlationId: "corr-9",
          requestId: "r",
          trace: parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        },
      },
    );
    const ctx = contextFromEvent(event);
    expect(ctx.correlationId).toBe("corr-9");
    expect(ctx.trace?.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(ctx.trace?.spanId).not.toBe(parseTraceparent(event.traceparent)?.spanId);
    expect(ctx.caller).toBe("orders");
    expect(ctx.requestId).toBeTruthy();
  });

  it("starts fresh when the event carries no context", () => {
    const {
      correlationid: _c,
      traceparent: _t,
      ...bare
    } = createEvent(
      OrderPlacedSchema,
      {},
      {
        source: "urn:legacy:shop",
      },
    );
    const ctx = contextFromEvent(bare);
    expect(ctx.correlationId).toBeTruthy();
    expect(ctx.trace?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ctx.caller).toBeUndefined();
  });
});
