import { createHmac, randomBytes } from "node:crypto";
import fc from "fast-check";
import { jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import {
  mintServiceToken,
  parseServiceKey,
  serviceTokenMaxTtlMs,
  verifyServiceToken,
} from "./service-token.ts";

const key = randomBytes(32);
/** Characters of a compact JWS, and a few that must never appear in one. */
const tokenChar = fc.constantFrom(..."eyJhbGciOiJ0123456789-_.=+/ \u0000é".split(""));
const now = 1_700_000_000_000;
const clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };

function mint(ttlMs?: number): string {
  return mintServiceToken({
    key,
    caller: "orders",
    callee: "shop.catalog.v1.CatalogService",
    clock,
    ...(ttlMs === undefined ? {} : { ttlMs }),
  });
}

describe("service tokens", () => {
  it("are standard HS256 JWTs: jose verifies them with the same key", async () => {
    const { payload, protectedHeader } = await jwtVerify(mint(), key, {
      audience: "shop.catalog.v1.CatalogService",
      currentDate: new Date(now),
    });
    expect(protectedHeader.alg).toBe("HS256");
    expect(payload).toEqual({
      sub: "orders",
      aud: "shop.catalog.v1.CatalogService",
      iat: now / 1000,
      exp: now / 1000 + serviceTokenMaxTtlMs / 1000,
    });
  });

  it("verify to their claims, and never live longer than 5 minutes", () => {
    expect(verifyServiceToken(key, mint(10 * 60_000), now)).toEqual({
      caller: "orders",
      audience: "shop.catalog.v1.CatalogService",
      expiresAtMs: now + serviceTokenMaxTtlMs,
    });
    expect(verifyServiceToken(key, mint(), now + serviceTokenMaxTtlMs)).toBe("expired");
    expect(verifyServiceToken(key, mint(), now - 61_000)).toBe("issued in the future");
  });

  it("refuses a token whose every single character was changed", () => {
    const token = mint();
    fc.assert(
      fc.property(
        fc.nat({ max: token.length - 1 }),
        fc.constantFrom(..."ABCabc012-_.=+/ ".split("")),
        (at, char) => {
          fc.pre(token[at] !== char);
          const tampered = token.slice(0, at) + char + token.slice(at + 1);
          expect(typeof verifyServiceToken(key, tampered, now)).toBe("string");
        },
      ),
    );
  });

  it("refuses arbitrary input without throwing", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: tokenChar })), (input) => {
        expect(typeof verifyServiceToken(key, input, now)).toBe("string");
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 2 }), (claims) => {
        // Signed with the right key, but not claims of a service token: still refused.
        const input = `${mint().split(".")[0]!}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
        const signature = createHmac("sha256", key).update(input).digest("base64url");
        expect(typeof verifyServiceToken(key, `${input}.${signature}`, now)).toBe("string");
      }),
    );
    // `alg: none` (or any other header) is refused whatever follows.
    const [, body, signature] = mint().split(".");
    const none = Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url");
    expect(verifyServiceToken(key, `${none}.${body!}.${signature!}`, now)).toBe("malformed");
    expect(verifyServiceToken(key, `${none}.${body!}.`, now)).toBe("malformed");
  });

  it("refuses a token signed with another key", () => {
    const other = mintServiceToken({ key: randomBytes(32), caller: "orders", callee: "x", clock });
    expect(verifyServiceToken(key, other, now)).toBe("bad signature");
  });
});

describe("parseServiceKey", () => {
  it("reads base64url of 32 bytes or more, padding tolerated", () => {
    const bytes = randomBytes(48);
    expect(Buffer.from(parseServiceKey(bytes.toString("base64url")))).toEqual(bytes);
    expect(
      Buffer.from(parseServiceKey(`${bytes.toString("base64")}`.replace(/[+/]/g, "A"))),
    ).toHaveLength(48);
  });

  it.each(["", "short", randomBytes(31).toString("base64url"), "not base64url!".repeat(5)])(
    "refuses %j with a message saying how to make a key",
    (value) => {
      expect(() => parseServiceKey(value)).toThrow(
        /PLEXUS_SERVICE_KEY must be at least 32 random bytes in base64url \(make one with: node -e/,
      );
    },
  );
});
