import type { Clock } from "@plexus/core";
import { importJWK, SignJWT, type JSONWebKeySet, type JWK } from "jose";
import { signingAlgorithm, type SigningKey } from "./signing-key.ts";

export interface TokenIssuerOptions {
  readonly key: SigningKey;
  /** Public keys to publish in the JWKS. Default: the signing key's public half. */
  readonly publicKeys?: readonly JWK[];
  /** `iss` claim; the gateway accepts only this issuer. */
  readonly issuer: string;
  /** `aud` claim; the gateway accepts only this audience. */
  readonly audience: string;
  /** Token lifetime. Default 900 s: short enough that a leaked token soon expires, without refresh. */
  readonly ttlSeconds?: number;
  /** Time source for `iat`/`nbf`/`exp`. */
  readonly clock: Clock;
}

/** A signed access token and its lifetime. */
export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresIn: number;
}

/** Signs access tokens and publishes the keys that verify them. */
export interface TokenIssuer {
  issue(subject: string, tier: string): Promise<IssuedToken>;
  /** The JWKS document (RFC 7517) of the public keys. */
  jwks(): JSONWebKeySet;
}

export const defaultTokenTtlSeconds = 900;

/** A token issuer bound to one signing key. */
export async function createTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const ttlSeconds = options.ttlSeconds ?? defaultTokenTtlSeconds;
  const privateKey = await importJWK(options.key.privateJwk, signingAlgorithm);
  const jwks: JSONWebKeySet = {
    keys: (options.publicKeys ?? [options.key.publicJwk]).map((k) => ({ ...k })),
  };
  return {
    async issue(subject, tier) {
      const now = Math.floor(options.clock.now() / 1000);
      const accessToken = await new SignJWT({ tier })
        .setProtectedHeader({ alg: signingAlgorithm, kid: options.key.kid, typ: "JWT" })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(subject)
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(now + ttlSeconds)
        .sign(privateKey);
      return { accessToken, expiresIn: ttlSeconds };
    },
    jwks: () => ({ keys: jwks.keys.map((k) => ({ ...k })) }),
  };
}
