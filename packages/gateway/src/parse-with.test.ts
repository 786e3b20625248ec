import { describe, expect, it } from "vitest";
import { z } from "zod";
import { httpStatusOf, toErrorBody } from "@plexus/core";
import type { PlexusError } from "@plexus/core";
import { formatFieldPath, parseWith } from "./parse-with.ts";

const Order = z
  .object({
    items: z
      .array(
        z.object({ productId: z.string().min(1), quantity: z.int().min(1).max(1000) }).strict(),
      )
      .min(1)
      .max(100),
    paymentMethod: z.object({ token: z.string() }).strict(),
  })
  .strict();

function failure(fn: () => unknown): PlexusError {
  try {
    fn();
  } catch (e) {
    return e as PlexusError;
  }
  throw new Error("expected a failure");
}

describe("parseWith", () => {
  it("returns the parsed value", () => {
    const value = {
      items: [{ productId: "p1", quantity: 2 }],
      paymentMethod: { token: "tok_visa" },
    };
    expect(parseWith(Order, value)).toEqual(value);
  });

  it("throws a 422 VALIDATION_ERROR with bracket/dot field paths", () => {
    const error = failure(() =>
      parseWith(Order, {
        items: [
          { productId: "p1", quantity: 1 },
          { productId: "", quantity: 0 },
        ],
        paymentMethod: {},
      }),
    );
    expect(httpStatusOf(error)).toBe(422);
    expect(error.details.map((d) => d.field)).toEqual([
      "items[1].productId",
      "items[1].quantity",
      "paymentMethod.token",
    ]);
    const body = toErrorBody(error, { requestId: "r", path: "/api/v1/orders" });
    expect(body.error.code).toBe("VALIDATION_ERROR");
  });

  it("names unknown fields of strict objects, nested too", () => {
    const error = failure(() =>
      parseWith(Order, {
        items: [{ productId: "p", quantity: 1, colour: "red" }],
        paymentMethod: { token: "t" },
        coupon: "X",
      }),
    );
    expect(error.details).toEqual([
      { field: "items[0].colour", message: "unknown field" },
      { field: "coupon", message: "unknown field" },
    ]);
  });
});

describe("formatFieldPath", () => {
  it("renders identifiers, indices, odd keys and the root", () => {
    expect(formatFieldPath(["items", 0, "quantity"])).toBe("items[0].quantity");
    expect(formatFieldPath([0, "a"])).toBe("[0].a");
    expect(formatFieldPath(["meta", "odd key"])).toBe('meta["odd key"]');
    expect(formatFieldPath([])).toBe("$");
  });
});
