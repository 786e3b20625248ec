import { describe, expect, it } from "vitest";
import { violatedFields } from "../../test-errors.ts";
import { validateProductQuery } from "./page-request.ts";

// Page and limit follow the shared rules (../../page-request.test.ts); these are the listing's own.
const violated = (page: number, limit: number, category = ""): string[] =>
  violatedFields(() => validateProductQuery({ page, limit, category }));

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

  it("refuses an over-long category, together with bad page and limit", () => {
    expect(violated(1, 10, "x".repeat(64))).toEqual([]);
    expect(violated(1, 10, "x".repeat(65))).toEqual(["category"]);
    expect(violated(0, 0, "x".repeat(65))).toEqual(["page", "limit", "category"]);
  });
});
