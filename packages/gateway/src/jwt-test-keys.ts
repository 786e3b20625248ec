import { createHmac } from "node:crypto";
import {
  SignJWT,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
} from "jose";

/** An EdDSA issuer for tests: signs tokens and publishes its JWKS (keys may be rotated). */
export interface TestIssuer {
  jwks(): JSONWebKeySet;
  sign(
    claims?: JWTPayload,
    options?: { kid?: string; expiresInSec?: number; nowSec?: number },
  ): Promise<string>;
  /** Adds a new signing key and makes it current. */
  rotate(): Promise<string>;
  readonly publicJwk: JWK;
}

export const ISSUER = "https://users.plexus.test";
export const AUDIENCE = "plexus-shop";

export async function createTestIssuer(): Promise<TestIssuer> {
  const keys: {
    kid: string;
    privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
    publicJwk: JWK;
  }[] = [];
  let counter = 0;
  async function addKey(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const kid = `k${++counter}`;
    keys.push({
      kid,
      privateKey,
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" },
    });
    return kid;
  }
  await addKey();
  return {
    get publicJwk() {
      return keys[keys.length - 1]!.publicJwk;
    },
    jwks: () => ({ keys: keys.map((k) => k.publicJwk) }),
    rotate: addKey,
    async sign(claims = {}, options = {}) {
      const key = keys.find((k) => k.kid === options.kid) ?? keys[keys.length - 1]!;
      const now = options.nowSec ?? Math.floor(Date.now() / 1000);
      return new SignJWT({
        sub: "user-1",
        iss: ISSUER,
        aud: AUDIENCE,
        iat: now,
        exp: now + (options.expiresInSec ?? 600),
        ...claims,
      })
        .setProtectedHeader({ alg: "EdDSA", kid: options.kid ?? key.kid })
        .sign(key.privateKey);
    },
  };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A token signed with HMAC-SHA256 using `secret` (the classic alg-confusion attack). */
export function hs256Token(payload: JWTPayload, secret: string | Buffer, kid?: string): string {
  const head = `${b64({ alg: "HS256", typ: "JWT", ...(kid ? { kid } : {}) })}.${b64(payload)}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}

/** An unsigned (`alg: none`) token. */
export function noneToken(payload: JWTPayload): string {
  return `${b64({ alg: "none", typ: "JWT" })}.${b64(payload)}.`;
}
