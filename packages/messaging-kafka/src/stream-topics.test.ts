import { describe, expect, it } from "vitest";
import { streamOf, streamsOf, topicOf } from "./stream-topics.ts";

describe("stream topics", () => {
  it("puts every type of a namespace in one stream, so an aggregate's events share a partition", () => {
    expect(streamOf("shop.orders.v1.OrderPlaced")).toBe("shop.orders.v1");
    expect(streamOf("shop.orders.v1.OrderConfirmed")).toBe("shop.orders.v1");
    expect(topicOf("t1.", "shop.orders.v1")).toBe("t1.shop.orders.v1");
  });

  it("refuses types and topics Kafka cannot name", () => {
    expect(() => streamOf("OrderPlaced")).toThrow(TypeError);
    expect(() => streamOf("shop/orders:v1.OrderPlaced")).toThrow(/names no Kafka stream/);
    expect(() => topicOf("bad prefix ", "shop.orders.v1")).toThrow(/not a valid Kafka topic/);
    expect(() => topicOf("", `s.${"x".repeat(250)}`)).toThrow(TypeError);
  });

  it("reads the streams of exact types and of `<stream>.*`, and refuses wider patterns", () => {
    expect(
      streamsOf(["shop.orders.v1.OrderPlaced", "shop.orders.v1.*", "shop.payments.v1.Charged"]),
    ).toEqual(["shop.orders.v1", "shop.payments.v1"]);
    expect(() => streamsOf(["*"])).toThrow(/cannot subscribe to "\*"/);
    expect(() => streamsOf(["shop.orders*"])).toThrow(TypeError);
  });
});
