import { describe, expect, it } from "vitest";
import { httpStatusOf } from "@plexus/core";
import type { PlexusError } from "@plexus/core";
import { paginate, parsePagination } from "./pagination.ts";

function failure(fn: () => unknown): PlexusError {
  try {
    fn();
  } catch (e) {
    return e as PlexusError;
  }
  throw new Error("expected a failure");
}

describe("parsePagination", () => {
  it("defaults, accepts and clamps", () => {
    expect(parsePagination(new URLSearchParams(""))).toEqual({ page: 1, limit: 20 });
    expect(parsePagination(new URLSearchParams("page=3&limit=50"))).toEqual({ page: 3, limit: 50 });
    expect(parsePagination(new URLSearchParams("limit=500"))).toEqual({ page: 1, limit: 100 });
    expect(parsePagination(new URLSearchParams("limit=99999999999999999999999"))).toEqual({
      page: 1,
      limit: 100,
    });
    expect(parsePagination({ page: "2" }, { defaultLimit: 5, maxLimit: 10 })).toEqual({
      page: 2,
      limit: 5,
    });
  });

  it.each(["0", "-1", "abc", "1.5", "1e2", "", " 5", "+5", "0x10"])(
    "refuses limit=%j with 422 naming the field",
    (value) => {
      const error = failure(() => parsePagination(new URLSearchParams({ limit: value })));
      expect(httpStatusOf(error)).toBe(422);
      expect(error.reason).toBe("VALIDATION_ERROR");
      expect(error.details).toEqual([{ field: "limit", message: expect.any(String) }]);
    },
  );

  it("names every bad field, and refuses repeated parameters", () => {
    const error = failure(() => parsePagination(new URLSearchParams("page=0&limit=x")));
    expect(error.details.map((d) => d.field)).toEqual(["page", "limit"]);
    const repeated = failure(() => parsePagination(new URLSearchParams("limit=1&limit=2")));
    expect(repeated.details).toEqual([{ field: "limit", message: "must be given at most once" }]);
    expect(failure(() => parsePagination({ page: "2000000000" })).details[0]!.field).toBe("page");
  });
});

describe("paginate", () => {
  it("builds the envelope with links that keep other parameters", () => {
    const page = paginate(
      [1, 2],
      { page: 2, limit: 2, total: 5 },
      "/api/v1/products?category=books&page=2&limit=2",
    );
    expect(page).toEqual({
      data: [1, 2],
      pagination: { page: 2, limit: 2, total: 5, totalPages: 3 },
      _links: {
        self: "/api/v1/products?category=books&page=2&limit=2",
        next: "/api/v1/products?category=books&page=3&limit=2",
        prev: "/api/v1/products?category=books&page=1&limit=2",
      },
    });
  });

  it("has null links at the ends and reflects a clamped limit", () => {
    const only = paginate([], { page: 1, limit: 100, total: 0 }, "/api/v1/products?limit=500");
    expect(only.pagination.totalPages).toBe(0);
    expect(only._links).toEqual({
      self: "/api/v1/products?limit=100&page=1",
      next: null,
      prev: null,
    });
    const last = paginate([1], { page: 3, limit: 2, total: 5 }, "/x");
    expect(last._links.next).toBeNull();
    expect(last._links.prev).toBe("/x?page=2&limit=2");
    const beyond = paginate([], { page: 9, limit: 2, total: 5 }, "/x");
    expect(beyond._links.prev).toBe("/x?page=3&limit=2");
  });

  it("keeps absolute URLs absolute", () => {
    const page = paginate([1], { page: 1, limit: 1, total: 2 }, "http://shop.test/api/v1/products");
    expect(page._links.next).toBe("http://shop.test/api/v1/products?page=2&limit=1");
  });
});
