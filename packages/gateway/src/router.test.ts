import { describe, expect, it } from "vitest";
import { PlexusError } from "@plexus/core";
import { createRouter } from "./router.ts";

describe("createRouter", () => {
  const router = createRouter<string>();
  router.add("GET", "/", "root");
  router.add("GET", "/api/v1/users/me", "me");
  router.add("GET", "/api/v1/users/:id", "user");
  router.add("POST", "/api/v1/users/:id", "update-user");
  router.add("GET", "/api/v1/users/:id/orders", "user-orders");
  router.add("DELETE", "/api/v1/orders/:orderId", "delete-order");

  it("matches static segments before parameters", () => {
    expect(router.find("GET", "/api/v1/users/me")).toMatchObject({ value: "me", params: {} });
    expect(router.find("GET", "/api/v1/users/u1")).toMatchObject({
      value: "user",
      template: "/api/v1/users/:id",
      params: { id: "u1" },
    });
    expect(router.find("GET", "/")).toMatchObject({ value: "root" });
  });

  it("backtracks from a static segment to a parameter for the method", () => {
    expect(router.find("POST", "/api/v1/users/me")).toMatchObject({
      kind: "found",
      value: "update-user",
      params: { id: "me" },
    });
  });

  it("answers HEAD with the GET route", () => {
    expect(router.find("HEAD", "/api/v1/users/u1")).toMatchObject({ value: "user" });
  });

  it("reports 405 with the allowed methods for a known path", () => {
    expect(router.find("PUT", "/api/v1/users/u1")).toMatchObject({
      kind: "method-not-allowed",
      allow: ["GET", "HEAD", "OPTIONS", "POST"],
      template: "/api/v1/users/:id",
      params: { id: "u1" },
    });
    expect(router.find("GET", "/api/v1/orders/o1")).toMatchObject({
      kind: "method-not-allowed",
      allow: ["DELETE", "OPTIONS"],
    });
  });

  it("does not match unknown paths, empty parameters or trailing slashes", () => {
    for (const path of [
      "/api/v1/nope",
      "/api/v1/users/",
      "/api/v1/users/u1/",
      "/api/v1/users/u1/orders/x",
      "api/v1/users",
      "",
      "//",
    ]) {
      expect(router.find("GET", path), path).toEqual({ kind: "not-found" });
    }
  });

  it("percent-decodes segments, keeping an encoded slash inside a parameter", () => {
    expect(router.find("GET", "/api/v1/users/a%2Fb%20c")).toMatchObject({
      params: { id: "a/b c" },
    });
    expect(router.find("GET", "/api/v1/%75sers/me")).toMatchObject({ value: "me" });
  });

  it("throws BAD_REQUEST on malformed percent-encoding", () => {
    for (const path of ["/api/v1/users/%zz", "/api/v1/users/%", "/api/v1/users/%C3%28"]) {
      const error = (() => {
        try {
          router.find("GET", path);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error, path).toBeInstanceOf(PlexusError);
      expect((error as PlexusError).reason).toBe("BAD_REQUEST");
    }
  });

  it("refuses duplicate routes, bad templates and conflicting parameter names", () => {
    expect(() => router.add("GET", "/api/v1/users/:id", "again")).toThrow(/duplicate route/);
    expect(() => router.add("GET", "/api/v1/users/:userId/x", "x")).toThrow(/another route/);
    expect(() => router.add("GET", "no-slash", "x")).toThrow(/must start/);
    expect(() => router.add("GET", "/a/:b/:b", "x")).toThrow(/duplicate parameter/);
    expect(() => router.add("GET", "/a/:", "x")).toThrow(/bad parameter/);
  });
});
