import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkAnswer, productBody, type ProductRow } from "./product-answer.ts";

const row: ProductRow = {
  id: "prd_moka-pot",
  name: "Moka pot",
  category: "kitchen",
  price_cents: "2999",
  currency: "EUR",
  stock: 120,
};

describe("productBody", () => {
  it("is API.md's product answer, in the gateway's key order, with numbers as numbers", () => {
    expect(productBody(row)).toBe(
      '{"data":{"id":"prd_moka-pot","name":"Moka pot","category":"kitchen",' +
        '"priceCents":2999,"currency":"EUR","stock":120}}',
    );
  });
});

describe("checkAnswer", () => {
  const expected = productBody(row);

  it("accepts a 200 with exactly the expected body", () => {
    expect(() => checkAnswer("raw", 200, expected, expected)).not.toThrow();
  });

  it("refuses the rate limit's 429 and a 404, naming the contender and what it answered", () => {
    expect(() => checkAnswer("shop", 429, '{"error":{"code":"RATE_LIMITED"}}', expected)).toThrow(
      /shop: expected 200 .* got 429 .*RATE_LIMITED/,
    );
    expect(() => checkAnswer("shop", 404, expected, expected)).toThrow(/got 404/);
  });

  it("refuses any other body, even with a 200", () => {
    fc.assert(
      fc.property(
        fc.string().filter((body) => body !== expected),
        (body) => {
          expect(() => checkAnswer("shop", 200, body, expected)).toThrow(/shop: expected 200/);
        },
      ),
    );
  });

  it("shortens a long body in its error", () => {
    let message = "";
    try {
      checkAnswer("shop", 500, "x".repeat(10_000), expected);
    } catch (caught) {
      message = (caught as Error).message;
    }
    expect(message).toMatch(/got 500 x+…$/);
    expect(message.length).toBeLessThan(600);
  });
});
