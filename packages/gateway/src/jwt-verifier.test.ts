import { beforeEach, describe, expect, it } from "vitest";
import { Code, PlexusError } from "@plexus/core";
import { createFakeClock, type FakeClock } from "@plexus/testing";
import { createJwtVerifier, type JwtVerifier } from "./jwt-verifier.ts";
import {
  AUDIENCE,
  ISSUER,
  createTestIssuer,
  hs256Token,
  noneToken,
  type TestIssuer,
} from "./jwt-test-keys.ts";

async function failure(promise: Promise<unknown>): Promise<PlexusError> {
  try {
    await promise;
  } catch (e) {
    return e as PlexusError;
  }
  throw new Error("expected a failure");
}

describe("createJwtVerifier", () => {
  let issuer: TestIssuer;
  let clock: FakeClock;
  let fetches: number;
  let verifier: JwtVerifier;
  const nowSec = () => Math.floor(clock.now() / 1000);

  beforeEach(async () => {
    issuer = await createTestIssuer();
    clock = createFakeClock(Date.UTC(2030, 0, 1));
    fetches = 0;
    verifier = createJwtVerifier({
      getJwks: async () => {
        fetches++;
        return issuer.jwks();
      },
      issuer: ISSUER,
      audience: AUDIENCE,
      clock,
    });
  });

  it("accepts a valid token and derives the principal (tier default free)", async () => {
    const token = await issuer.sign({ sub: "u42" }, { nowSec: nowSec() });
    expect(await verifier.authenticate(`Bearer ${token}`)).toEqual({
      subject: "u42",
      tier: "free",
    });
    const pro = await issuer.sign({ sub: "u43", tier: "pro" }, { nowSec: nowSec() });
    expect((await verifier.verify(pro)).principal).toEqual({ subject: "u43", tier: "pro" });
    expect(fetches).toBe(1); // cached
    expect(await verifier.authenticate(undefined)).toBeUndefined();
  });

  it("refuses every bad token with the same Unauthenticated message", async () => {
    const now = nowSec();
    const publicKeyAsSecret = Buffer.from(issuer.publicJwk.x!, "base64url");
    const claims = { sub: "u1", iss: ISSUER, aud: AUDIENCE, exp: now + 600 };
    const bad: Record<string, string> = {
      expired: await issuer.sign({}, { nowSec: now - 3600, expiresInSec: 60 }),
      "nbf in the future": await issuer.sign({ nbf: now + 300 }, { nowSec: now }),
      "wrong issuer": await issuer.sign({ iss: "https://evil.test" }, { nowSec: now }),
      "wrong audience": await issuer.sign({ aud: "someone-else" }, { nowSec: now }),
      "no exp": await issuer.sign({ exp: undefined }, { nowSec: now }),
      "no sub": await issuer.sign({ sub: undefined }, { nowSec: now }),
      "HS256 with the public key as secret": hs256Token(
        claims,
        publicKeyAsSecret,
        issuer.publicJwk.kid,
      ),
      "HS256 with the JWK JSON as secret": hs256Token(claims, JSON.stringify(issuer.publicJwk)),
      "alg none": noneToken(claims),
      garbage: "not.a.jwt",
      "tampered payload": (await issuer.sign({}, { nowSec: now })).replace(
        /\.[^.]+\./,
        `.${Buffer.from(JSON.stringify({ ...claims, sub: "admin" })).toString("base64url")}.`,
      ),
    };
    const messages = new Set<string>();
    for (const [reason, token] of Object.entries(bad)) {
      const error = await failure(verifier.authenticate(`Bearer ${token}`));
      expect(error, reason).toBeInstanceOf(PlexusError);
      expect(error.code, reason).toBe(Code.Unauthenticated);
      messages.add(error.message);
    }
    for (const header of ["Basic dXNlcjpwdw==", "Bearer", "Bearer a b", "token"]) {
      const error = await failure(verifier.authenticate(header));
      expect(error.code, header).toBe(Code.Unauthenticated);
      messages.add(error.message);
    }
    expect([...messages]).toEqual(["missing or invalid credentials"]);
  });

  it("tolerates a little clock skew on exp and nbf", async () => {
    const now = nowSec();
    const justExpired = await issuer.sign({ exp: now - 2 }, { nowSec: now - 600 });
    expect((await verifier.verify(justExpired)).principal.subject).toBe("user-1");
    const almostValid = await issuer.sign({ nbf: now + 2 }, { nowSec: now });
    expect((await verifier.verify(almostValid)).principal.subject).toBe("user-1");
  });

  it("re-fetches the key set on an unknown kid, at most once per cooldown", async () => {
    await verifier.verify(await issuer.sign({}, { nowSec: nowSec() }));
    expect(fetches).toBe(1);
    clock.advance(31_000);
    const newKid = await issuer.rotate();
    const rotated = await issuer.sign({}, { nowSec: nowSec(), kid: newKid });
    expect((await verifier.verify(rotated)).principal.subject).toBe("user-1");
    expect(fetches).toBe(2);

    // Unknown kids right after a fetch do not trigger another one.
    const forged = await issuer.sign({}, { nowSec: nowSec(), kid: "unknown" });
    expect((await failure(verifier.verify(forged))).code).toBe(Code.Unauthenticated);
    expect(fetches).toBe(2);
    clock.advance(31_000);
    expect((await failure(verifier.verify(forged))).code).toBe(Code.Unauthenticated);
    expect(fetches).toBe(3);
  });

  it("re-fetches after the cache TTL and keeps a stale set when the issuer is down", async () => {
    let down = false;
    const v = createJwtVerifier({
      getJwks: async () => {
        fetches++;
        if (down) throw new Error("users service unavailable");
        return issuer.jwks();
      },
      issuer: ISSUER,
      audience: AUDIENCE,
      clock,
      cacheTtlMs: 60_000,
    });
    await v.verify(await issuer.sign({}, { nowSec: nowSec() }));
    clock.advance(61_000);
    down = true;
    expect((await v.verify(await issuer.sign({}, { nowSec: nowSec() }))).principal.subject).toBe(
      "user-1",
    );
    expect(fetches).toBe(2);
  });

  it("answers Unavailable when no key set was ever fetched", async () => {
    const v = createJwtVerifier({
      getJwks: async () => {
        throw new Error("connect ECONNREFUSED 10.1.2.3:5000");
      },
      issuer: ISSUER,
      audience: AUDIENCE,
      clock,
    });
    const error = await failure(v.verify(await issuer.sign({}, { nowSec: nowSec() })));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.message).not.toContain("10.1.2.3");
  });

  it("refuses to be configured with none or HMAC algorithms", () => {
    const base = { getJwks: async () => issuer.jwks(), issuer: ISSUER, audience: AUDIENCE };
    expect(() => createJwtVerifier({ ...base, algorithms: ["none"] })).toThrow();
    expect(() => createJwtVerifier({ ...base, algorithms: ["EdDSA", "HS256"] })).toThrow();
    expect(() => createJwtVerifier({ ...base, algorithms: [] })).toThrow();
  });
});
