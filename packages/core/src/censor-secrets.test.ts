import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CENSORED, censorSecrets, isSecretKey } from "./censor-secrets.ts";

describe("isSecretKey", () => {
  it("recognises secret keys whatever their case and separators", () => {
    for (const key of [
      "password",
      "PassWord",
      "new_password",
      "authorization",
      "Proxy-Authorization",
      "cookie",
      "SET_COOKIE",
      "accessToken",
      "ID_TOKEN",
      "clientSecret",
      "private_key",
      "X-Api-Key",
    ]) {
      expect(isSecretKey(key), key).toBe(true);
    }
  });

  it("leaves ordinary keys alone", () => {
    for (const key of ["email", "tokenType", "expiresIn", "name", "id", "secretary_name"]) {
      expect(isSecretKey(key), key).toBe(false);
    }
  });
});

describe("censorSecrets", () => {
  it("returns values without secrets as they are (no copy)", () => {
    const value = { a: 1, b: { c: [1, 2, { d: "x" }] } };
    expect(censorSecrets(value)).toBe(value);
    for (const primitive of [1, "s", null, undefined, true]) {
      expect(censorSecrets(primitive)).toBe(primitive);
    }
  });

  it("never modifies its input and never leaks a secret value", () => {
    const secret = "TOP-SECRET-42";
    const keyArb = fc.oneof(
      fc.constantFrom("password", "Authorization", "cookie", "api_key", "refreshToken"),
      fc.string({ unit: fc.constantFrom(..."abcxyz"), minLength: 1, maxLength: 4 }),
    );
    const tree = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.constant(secret),
        fc.integer(),
        fc.array(tie("node"), { maxLength: 3 }),
        fc.dictionary(keyArb, tie("node"), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(tree, (value) => {
        const before = JSON.stringify(value);
        const censored = censorSecrets(value);
        expect(JSON.stringify(value)).toBe(before);
        // Every secret value that sits under a secret key within the depth limit is gone.
        const check = (v: unknown, depth: number): void => {
          if (v === null || typeof v !== "object" || depth > 6) return;
          for (const [k, child] of Object.entries(v)) {
            if (isSecretKey(k) && child !== null && child !== undefined) {
              expect(child).toBe(CENSORED);
            } else {
              check(child, depth + 1);
            }
          }
        };
        check(censored, 0);
      }),
    );
  });

  it("does not walk into class instances (errors, dates, buffers)", () => {
    const error = Object.assign(new Error("x"), { password: "p" });
    const value = { err: error, at: new Date(0) };
    expect(censorSecrets(value)).toBe(value);
  });
});
