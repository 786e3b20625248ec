import { describe, expect, it } from "vitest";
import { productQueryOf } from "./page-request.ts";

describe("productQueryOf", () => {
  it("computes the offset and treats an empty category as no filter", () => {
    expect(productQueryOf({ page: 3, limit: 20, category: "" })).toEqual({
      page: 3,
      limit: 20,
      category: undefined,
      offset: 40,
    });
    expect(productQueryOf({ page: 1, limit: 1, category: "books" }).category).toBe("books");
  });
});
