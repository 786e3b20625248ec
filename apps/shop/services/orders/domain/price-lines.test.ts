import { PlexusError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { itemCountOf, totalOf } from "./order.ts";
import { priceLines } from "./price-lines.ts";

const products = [
  { id: "a", priceCents: 250n, currency: "EUR" },
  { id: "b", priceCents: 1000n, currency: "EUR" },
  { id: "usd", priceCents: 999n, currency: "USD" },
];

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PlexusError);
    return (error as PlexusError).details.map((d) => d.field);
  }
  return [];
}

describe("priceLines", () => {
  it("prices every line with the product's price, in the one currency", () => {
    const priced = priceLines(
      [
        { productId: "b", quantity: 2 },
        { productId: "a", quantity: 3 },
        { productId: "b", quantity: 1 },
      ],
      products,
    );
    expect(priced.currency).toBe("EUR");
    expect(priced.lines.map((l) => l.unitPriceCents)).toEqual([1000n, 250n, 1000n]);
    expect(totalOf(priced.lines)).toBe(3750n);
    expect(itemCountOf(priced.lines)).toBe(6);
  });

  it("refuses unknown products and mixed currencies on their lines", () => {
    expect(
      fieldsOf(() =>
        priceLines(
          [
            { productId: "a", quantity: 1 },
            { productId: "nope", quantity: 1 },
            { productId: "usd", quantity: 1 },
          ],
          products,
        ),
      ),
    ).toEqual(["items[1].productId", "items[2].productId"]);
  });
});
