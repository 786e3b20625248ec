import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import {
  manySignUpsEnv,
  removeDataDir,
  startShop,
  type ShopProcess,
} from "../support/shop-process.ts";
import { request, signUp, uniqueEmail, type Reply } from "../support/http.ts";

let shop: ShopProcess;
beforeAll(async () => {
  shop = await startShop({ env: manySignUpsEnv });
});
afterAll(async () => {
  await shop.stop();
  await removeDataDir(shop.dataDir);
});

function expectError(reply: Reply, status: number, code: string, path: string): void {
  expect(reply.status).toBe(status);
  expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
  expect(reply.body.error).toMatchObject({ code, path });
  expect(typeof reply.body.error.message).toBe("string");
  expect(reply.body.error.requestId).toBe(reply.headers.get("x-request-id"));
  expect(new Date(reply.body.error.timestamp).toISOString()).toBe(reply.body.error.timestamp);
}

describe("POST /api/v1/users", () => {
  it("creates a user: 201, Location, data without the password", async () => {
    const email = uniqueEmail();
    const reply = await request(shop.url, "/api/v1/users", {
      body: { email, name: "Ada Lovelace", password: "s3cret-password" },
    });
    expect(reply.status).toBe(201);
    const { data } = reply.body;
    expect(Object.keys(data).sort()).toEqual(["createdAt", "email", "id", "name"]);
    expect(data).toMatchObject({ email, name: "Ada Lovelace" });
    expect(reply.headers.get("location")).toBe(`/api/v1/users/${data.id}`);
    expect(reply.text).not.toContain("s3cret-password");
    expect(shop.logs.join("\n")).not.toContain("s3cret-password");
  });

  it("answers 409 EMAIL_EXISTS on a duplicate email, case-insensitively", async () => {
    const email = uniqueEmail("dup");
    const first = await request(shop.url, "/api/v1/users", {
      body: { email, name: "A", password: "password1" },
    });
    expect(first.status).toBe(201);
    const again = await request(shop.url, "/api/v1/users", {
      body: { email: email.toUpperCase(), name: "B", password: "password2" },
    });
    expectError(again, 409, "EMAIL_EXISTS", "/api/v1/users");
  });

  it("answers 422 with field details on a bad email, an empty name, a short password", async () => {
    const reply = await request(shop.url, "/api/v1/users", {
      body: { email: "not-an-email", name: "", password: "short" },
    });
    expectError(reply, 422, "VALIDATION_ERROR", "/api/v1/users");
    const fields = (reply.body.error.details as { field: string }[]).map((d) => d.field).sort();
    expect(fields).toEqual(["email", "name", "password"]);
  });

  it("answers 400 on malformed JSON and 415 on a wrong content type", async () => {
    const malformed = await request(shop.url, "/api/v1/users", { body: "{not json" });
    expectError(malformed, 400, "BAD_REQUEST", "/api/v1/users");
    const wrongType = await request(shop.url, "/api/v1/users", {
      body: "email=a@b.c",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expectError(wrongType, 415, "UNSUPPORTED_MEDIA_TYPE", "/api/v1/users");
  });

  it("answers 413 on a body over 1 MiB", async () => {
    const reply = await request(shop.url, "/api/v1/users", {
      body: { email: uniqueEmail(), name: "x".repeat(1024 * 1024 + 10), password: "password1" },
    });
    expectError(reply, 413, "PAYLOAD_TOO_LARGE", "/api/v1/users");
  });
});

describe("POST /api/v1/auth/token", () => {
  it("issues an EdDSA JWT verifiable against the JWKS", async () => {
    const user = await signUp(shop.url);
    const reply = await request(shop.url, "/api/v1/auth/token", {
      body: { email: user.email, password: user.password },
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ tokenType: "Bearer" });
    expect(reply.body.expiresIn).toBeGreaterThan(0);
    expect(decodeProtectedHeader(reply.body.accessToken).alg).toBe("EdDSA");
    const jwks = await request(shop.url, "/.well-known/jwks.json");
    expect(jwks.status).toBe(200);
    const { payload } = await jwtVerify(reply.body.accessToken, createLocalJWKSet(jwks.body));
    expect(payload.sub).toBe(user.id);
  });

  it("answers the same 401 for an unknown email and a wrong password", async () => {
    const user = await signUp(shop.url);
    const wrong = await request(shop.url, "/api/v1/auth/token", {
      body: { email: user.email, password: "not the password" },
    });
    const unknown = await request(shop.url, "/api/v1/auth/token", {
      body: { email: uniqueEmail("nobody"), password: "not the password" },
    });
    expectError(wrong, 401, "UNAUTHENTICATED", "/api/v1/auth/token");
    expectError(unknown, 401, "UNAUTHENTICATED", "/api/v1/auth/token");
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
  });

  it("answers 429 RATE_LIMITED with Retry-After past 5 failed logins of one account, known or not", async () => {
    const user = await signUp(shop.url);
    const login = (email: string, password: string) =>
      request(shop.url, "/api/v1/auth/token", { body: { email, password } });
    const bystander = await signUp(shop.url);
    for (const email of [user.email, uniqueEmail("nobody")]) {
      for (let i = 0; i < 5; i++) {
        expectError(
          await login(email, `wrong password ${i}`),
          401,
          "UNAUTHENTICATED",
          "/api/v1/auth/token",
        );
      }
      // The 6th is refused before the password is even checked: the right one too.
      const limited = await login(email.toUpperCase(), user.password);
      expectError(limited, 429, "RATE_LIMITED", "/api/v1/auth/token");
      const retryAfter = Number(limited.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    }
    // Per account: everyone else, from the same address, logs in as before.
    expect((await login(bystander.email, bystander.password)).status).toBe(200);
  });
});

describe("GET /api/v1/users/{id} and /api/v2/users/{id}", () => {
  it("returns the caller's own user with links and deprecation headers", async () => {
    const user = await signUp(shop.url, "Grace Hopper");
    const reply = await request(shop.url, `/api/v1/users/${user.id}`, { token: user.token });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toMatchObject({ id: user.id, email: user.email, name: "Grace Hopper" });
    expect(reply.body._links.self).toBe(`/api/v1/users/${user.id}`);
    expect(typeof reply.body._links.orders).toBe("string");
    expect(reply.headers.get("deprecation")).toMatch(/^@\d+$/);
    expect(new Date(reply.headers.get("sunset")!).getTime()).toBeGreaterThan(Date.now());
    expect(reply.headers.get("link")).toBe(`</api/v2/users/${user.id}>; rel="successor-version"`);
  });

  it("serves the v2 view without deprecation headers", async () => {
    const user = await signUp(shop.url, "Alan Turing");
    const reply = await request(shop.url, `/api/v2/users/${user.id}`, { token: user.token });
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body.data).sort()).toEqual([
      "createdAt",
      "emailAddress",
      "fullName",
      "id",
    ]);
    expect(reply.body.data).toMatchObject({
      id: user.id,
      fullName: "Alan Turing",
      emailAddress: user.email,
    });
    expect(reply.headers.get("deprecation")).toBeNull();
  });

  it("answers 404 for another user's id (existence not revealed), and for an unknown id", async () => {
    const alice = await signUp(shop.url);
    const bob = await signUp(shop.url);
    const other = await request(shop.url, `/api/v1/users/${bob.id}`, { token: alice.token });
    const missing = await request(shop.url, "/api/v1/users/00000000-0000-0000-0000-000000000000", {
      token: alice.token,
    });
    expect(other.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(other.body.error.code).toBe(missing.body.error.code);
    const v2 = await request(shop.url, `/api/v2/users/${bob.id}`, { token: alice.token });
    expect(v2.status).toBe(404);
  });

  it("answers 401 without a token, with a garbage token, and with a forged one", async () => {
    const user = await signUp(shop.url);
    const path = `/api/v1/users/${user.id}`;
    expectError(await request(shop.url, path), 401, "UNAUTHENTICATED", path);
    expectError(await request(shop.url, path, { token: "garbage" }), 401, "UNAUTHENTICATED", path);
    const [header, payload] = user.token.split(".");
    const forged = `${header}.${payload}.${Buffer.from("not a signature").toString("base64url")}`;
    expectError(await request(shop.url, path, { token: forged }), 401, "UNAUTHENTICATED", path);
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${payload}.`;
    expectError(await request(shop.url, path, { token: none }), 401, "UNAUTHENTICATED", path);
  });
});
