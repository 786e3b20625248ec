import { PlexusError } from "@plexus/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maxLineQuantity, validateReservation, validateReservationId } from "./reservation.ts";

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(PlexusError);
    expect((error as PlexusError).reason).toBe("VALIDATION_ERROR");
    return (error as PlexusError).details.map((d) => d.field);
  }
}

describe("validateReservation", () => {
  it("merges lines of one product, in first-seen order", () => {
    expect(
      validateReservation({
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
            quantity: fc.integer({ min: 1, max: maxLineQuantity }),
          }),
          { minLength: 1, maxLength: 100 },
        ),
        (lines) => {
          const merged = validateReservation({ reservationId: "r", lines }).lines;
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

  it("names every bad line", () => {
    expect(
      fieldsOf(() =>
        validateReservation({
          reservationId: "r",
          lines: [
            { productId: "a", quantity: 1 },
            { productId: "", quantity: 0 },
            { productId: "c", quantity: 2.5 },
          ],
        }),
      ),
    ).toEqual(["lines[1].productId", "lines[1].quantity", "lines[2].quantity"]);
  });

  it("checks the reservation id", () => {
    expect(fieldsOf(() => validateReservationId(""))).toEqual(["reservationId"]);
    expect(fieldsOf(() => validateReservationId("r".repeat(256)))).toEqual(["reservationId"]);
    expect(validateReservationId("r".repeat(255))).toBe("r".repeat(255));
  });
});
