import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maxPageLimit, pageWindow } from "./page-request.ts";

describe("pageWindow", () => {
  it("answers the window with its offset", () => {
    expect(pageWindow({ page: 3, limit: 20 })).toEqual({ page: 3, limit: 20, offset: 40 });
    expect(pageWindow({ page: 1, limit: maxPageLimit }).offset).toBe(0);
  });

  it("skips (page - 1) * limit rows (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 20 }),
        fc.integer({ min: 1, max: maxPageLimit }),
        (page, limit) => {
          expect(pageWindow({ page, limit }).offset).toBe((page - 1) * limit);
        },
      ),
    );
  });
});
