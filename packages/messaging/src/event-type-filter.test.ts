import { describe, expect, it } from "vitest";
import { compileTypeFilter } from "./event-type-filter.ts";

describe("compileTypeFilter", () => {
  it("matches exact types and prefixes", () => {
    const f = compileTypeFilter(["shop.orders.v1.OrderPlaced", "shop.payments.v1.*"]);
    expect(f("shop.orders.v1.OrderPlaced")).toBe(true);
    expect(f("shop.orders.v1.OrderPlacedV2")).toBe(false);
    expect(f("shop.orders.v1.OrderCancelled")).toBe(false);
    expect(f("shop.payments.v1.ChargeSucceeded")).toBe(true);
    expect(f("shop.payments.v2.ChargeSucceeded")).toBe(false);
  });

  it("matches everything with a lone *", () => {
    expect(compileTypeFilter(["*"])("anything.at.all")).toBe(true);
  });

  it("refuses malformed patterns and an empty list", () => {
    expect(() => compileTypeFilter([])).toThrow(/at least one/);
    expect(() => compileTypeFilter(["shop.*.v1"])).toThrow(/invalid event type pattern/);
    expect(() => compileTypeFilter(["has space"])).toThrow(/invalid/);
    expect(() => compileTypeFilter([""])).toThrow(/invalid/);
  });
});
