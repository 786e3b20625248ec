import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mergeReservation } from "./reservation.ts";

describe("mergeReservation", () => {
  it("merges lines of one product, in first-seen order", () => {
    expect(
      mergeReservation({
        reservationId: "o-1",
        lines: [
          { productId: "b", quantity: 1 },
          { productId: "a", quantity: 2 },
          { productId: "b", quantity: 1000 },
        ],
      }).lines,
    ).toEqual([
      { productId: "b", quantity: 1001 },
      { productId: "a", quantity: 2 },
    ]);
  });

  it("keeps the total of every product (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            productId: fc.constantFrom("a", "b", "c"),
            quantity: fc.integer({ min: 1, max: 1000 }),
          }),
          { minLength: 1, maxLength: 100 },
        ),
        (lines) => {
          const merged = mergeReservation({ reservationId: "r", lines }).lines;
          expect(new Set(merged.map((l) => l.productId)).size).toBe(merged.length);
          for (const { productId, quantity } of merged) {
            const sum = lines
              .filter((l) => l.productId === productId)
              .reduce((s, l) => s + l.quantity, 0);
            expect(quantity).toBe(sum);
          }
        },
      ),
    );
  });
});
