import { Code, PlexusError } from "@plexus/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maxPageLimit, validatePageRequest } from "./page-request.ts";

function violatedFields(page: number, limit: number, also: { field: string }[] = []): string[] {
  try {
    validatePageRequest(
      { page, limit },
      also.map((v) => ({ ...v, message: "bad" })),
    );
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(PlexusError);
    expect((error as PlexusError).code).toBe(Code.InvalidArgument);
    expect((error as PlexusError).reason).toBe("VALIDATION_ERROR");
    return (error as PlexusError).details.map((d) => d.field);
  }
}

describe("validatePageRequest", () => {
  it("answers the window with its offset", () => {
    expect(validatePageRequest({ page: 3, limit: 20 })).toEqual({ page: 3, limit: 20, offset: 40 });
    expect(validatePageRequest({ page: 1, limit: maxPageLimit }).offset).toBe(0);
  });

  it("reports every bad field at once, the caller's own ones after page and limit", () => {
    expect(violatedFields(0, 0)).toEqual(["page", "limit"]);
    expect(violatedFields(-1, maxPageLimit + 1)).toEqual(["page", "limit"]);
    expect(violatedFields(1.5, 10)).toEqual(["page"]);
    expect(violatedFields(1, Number.NaN)).toEqual(["limit"]);
    expect(violatedFields(0, 10, [{ field: "user_id" }])).toEqual(["page", "user_id"]);
    expect(violatedFields(1, 10, [{ field: "category" }])).toEqual(["category"]);
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
            expect(validatePageRequest({ page, limit }).offset).toBe((page - 1) * limit);
          }
        },
      ),
    );
  });
});
