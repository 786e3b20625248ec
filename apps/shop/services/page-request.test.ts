import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maxPageLimit, validatePageRequest } from "./page-request.ts";
import { violatedFields } from "./test-errors.ts";

const violated = (page: number, limit: number, also: { field: string }[] = []): string[] =>
  violatedFields(() =>
    validatePageRequest(
      { page, limit },
      also.map((v) => ({ ...v, message: "bad" })),
    ),
  );

describe("validatePageRequest", () => {
  it("answers the window with its offset", () => {
    expect(validatePageRequest({ page: 3, limit: 20 })).toEqual({ page: 3, limit: 20, offset: 40 });
    expect(validatePageRequest({ page: 1, limit: maxPageLimit }).offset).toBe(0);
  });

  it("reports every bad field at once, the caller's own ones after page and limit", () => {
    expect(violated(0, 0)).toEqual(["page", "limit"]);
    expect(violated(-1, maxPageLimit + 1)).toEqual(["page", "limit"]);
    expect(violated(1.5, 10)).toEqual(["page"]);
    expect(violated(1, Number.NaN)).toEqual(["limit"]);
    expect(violated(0, 10, [{ field: "user_id" }])).toEqual(["page", "user_id"]);
    expect(violated(1, 10, [{ field: "category" }])).toEqual(["category"]);
  });

  it("accepts exactly page >= 1 and 1 <= limit <= 100 (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 2 ** 31 - 1 }),
        fc.integer({ min: -5, max: 200 }),
        (page, limit) => {
          const fields = violated(page, limit);
          expect(fields.includes("page")).toBe(page < 1);
          expect(fields.includes("limit")).toBe(limit < 1 || limit > maxPageLimit);
          if (fields.length === 0) {
            expect(validatePageRequest({ page, limit }).offset).toBe((page - 1) * limit);
          }
        },
      ),
    );
  });
});
