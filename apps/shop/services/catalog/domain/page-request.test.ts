import { Code, PlexusError } from "@plexus/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maxPageLimit } from "../../page-request.ts";
import { validateProductQuery } from "./page-request.ts";

function violatedFields(page: number, limit: number, category = ""): string[] {
  try {
    validateProductQuery({ page, limit, category });
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(PlexusError);
    expect((error as PlexusError).code).toBe(Code.InvalidArgument);
    expect((error as PlexusError).reason).toBe("VALIDATION_ERROR");
    return (error as PlexusError).details.map((d) => d.field);
  }
}

describe("validateProductQuery", () => {
  it("computes the offset and treats an empty category as no filter", () => {
    expect(validateProductQuery({ page: 3, limit: 20, category: "" })).toEqual({
      page: 3,
      limit: 20,
      category: undefined,
      offset: 40,
    });
    expect(validateProductQuery({ page: 1, limit: 1, category: "books" }).category).toBe("books");
  });

  it("rejects page and limit out of range, all at once", () => {
    expect(violatedFields(0, 0)).toEqual(["page", "limit"]);
    expect(violatedFields(-1, 101)).toEqual(["page", "limit"]);
    expect(violatedFields(1, maxPageLimit)).toEqual([]);
    expect(violatedFields(1, maxPageLimit + 1)).toEqual(["limit"]);
    expect(violatedFields(1.5, 10)).toEqual(["page"]);
    expect(violatedFields(1, Number.NaN)).toEqual(["limit"]);
    expect(violatedFields(1, 10, "x".repeat(65))).toEqual(["category"]);
  });

  it("accepts exactly page >= 1 and 1 <= limit <= 100 (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 2 ** 31 - 1 }),
        fc.integer({ min: -5, max: 200 }),
        (page, limit) => {
          const fields = violatedFields(page, limit);
          expect(fields.includes("page")).toBe(page < 1);
          expect(fields.includes("limit")).toBe(limit < 1 || limit > maxPageLimit);
          if (fields.length === 0) {
            expect(validateProductQuery({ page, limit, category: "" }).offset).toBe(
              (page - 1) * limit,
            );
          }
        },
      ),
    );
  });
});
