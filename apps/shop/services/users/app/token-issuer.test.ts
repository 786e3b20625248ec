import type { Clock } from "@plexus/core";
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { generateSigningKey } from "./signing-key.ts";
import { createTokenIssuer } from "./token-issuer.ts";

const start = Date.parse("2030-01-01T00:00:00Z");

function fixedClock(now: number): Clock {
  return { now: () => now, setTimeout: () => undefined, clearTimeout: () => undefined };
}

const verifyOptions = {
  issuer: "test-issuer",
  audience: "test-audience",
  algorithms: ["EdDSA"],
};

describe("signing keys", () => {
  it("generates Ed25519 keys whose public half carries kid, alg and use, and no private part", async () => {
    const key = await generateSigningKey();
    expect(key.publicJwk).toEqual({
      kty: "OKP",
      crv: "Ed25519",
      x: expect.any(String),
      kid: key.kid,
      alg: "EdDSA",
      use: "sig",
    });
    expect(key.privateJwk.d).toEqual(expect.any(String));
    expect((await generateSigningKey()).kid).not.toBe(key.kid);
  });
});

describe("createTokenIssuer", () => {
  it("issues EdDSA tokens with kid, iss, aud, sub, iat, nbf, exp = iat + 900 and tier", async () => {
    const key = await generateSigningKey();
    const issuer = await createTokenIssuer({
      key,
      issuer: "test-issuer",
      audience: "test-audience",
      clock: fixedClock(start),
    });
    const token = await issuer.issue("user-1", "free");
    expect(token.expiresIn).toBe(900);
    expect(decodeProtectedHeader(token.accessToken)).toEqual({
      alg: "EdDSA",
      kid: key.kid,
      typ: "JWT",
    });

    const jwks = createLocalJWKSet(issuer.jwks());
    const { payload } = await jwtVerify(token.accessToken, jwks, {
      ...verifyOptions,
      currentDate: new Date(start + 60_000),
    });
    const now = start / 1000;
    expect(payload).toEqual({
      iss: "test-issuer",
      aud: "test-audience",
      sub: "user-1",
      iat: now,
      nbf: now,
      exp: now + 900,
      tier: "free",
    });
  });

  it("produces tokens that stop verifying once expired, and under another audience or key", async () => {
    const issuer = await createTokenIssuer({
      key: await generateSigningKey(),
      issuer: "test-issuer",
      audience: "test-audience",
      clock: fixedClock(start),
    });
    const { accessToken } = await issuer.issue("user-1", "free");
    const jwks = createLocalJWKSet(issuer.jwks());
    await expect(
      jwtVerify(accessToken, jwks, { ...verifyOptions, currentDate: new Date(start + 901_000) }),
    ).rejects.toBeInstanceOf(errors.JWTExpired);
    await expect(
      jwtVerify(accessToken, jwks, {
        ...verifyOptions,
        audience: "someone-else",
        currentDate: new Date(start),
      }),
    ).rejects.toBeInstanceOf(errors.JWTClaimValidationFailed);
    const other = await createTokenIssuer({
      key: await generateSigningKey(),
      issuer: "test-issuer",
      audience: "test-audience",
      clock: fixedClock(start),
    });
    await expect(
      jwtVerify(accessToken, createLocalJWKSet(other.jwks()), {
        ...verifyOptions,
        currentDate: new Date(start),
      }),
    ).rejects.toBeInstanceOf(errors.JOSEError);
  });

  it("publishes only public keys, and a copy callers cannot corrupt", async () => {
    const issuer = await createTokenIssuer({
      key: await generateSigningKey(),
      issuer: "i",
      audience: "a",
      clock: fixedClock(start),
    });
    const jwks = issuer.jwks();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).not.toHaveProperty("d");
    jwks.keys[0]!.kid = "tampered";
    expect(issuer.jwks().keys[0]!.kid).not.toBe("tampered");
  });
});
