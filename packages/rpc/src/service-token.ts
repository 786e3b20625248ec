import { createHmac, timingSafeEqual } from "node:crypto";
import { isWellFormedCorrelationId, systemClock, type Clock } from "@plexus/core";

/**
 * The header carrying the calling service's token on every network RPC call. An `x-plexus-*`
 * name, not `authorization`: the gateway strips `x-plexus-*` from outside requests, a user's
 * bearer token never collides with it, and an HTTP upstream's own `authorization` stays the
 * service's business (ADR 13).
 */
export const headerServiceToken = "x-plexus-service-token";

/** Longest lifetime a service token may claim: a leaked token is useless within minutes. */
export const serviceTokenMaxTtlMs = 5 * 60_000;

/** How far a peer's clock may run ahead: a token issued "in the future" by more is refused. */
const maxClockSkewMs = 60_000;
const minKeyBytes = 32;

/** `{"alg":"HS256","typ":"JWT"}`: the only header accepted, compared as bytes (no `alg` games). */
const joseHeader = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
const base64url = /^[A-Za-z0-9_-]+$/;

/**
 * Reads a topology key (`PLEXUS_SERVICE_KEY`): base64url (padding tolerated) of at least 32
 * random bytes, HS256's key size.
 *
 * @throws TypeError saying what is wrong and how to make a good key.
 */
export function parseServiceKey(value: string, name = "PLEXUS_SERVICE_KEY"): Uint8Array {
  const text = value.trim().replace(/=+$/, "");
  const key = base64url.test(text) ? Buffer.from(text, "base64url") : undefined;
  if (key === undefined || key.byteLength < minKeyBytes) {
    throw new TypeError(
      `${name} must be at least ${minKeyBytes} random bytes in base64url (make one with: ` +
        `node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))")`,
    );
  }
  return key;
}

export interface MintServiceTokenOptions {
  /** The topology key (`parseServiceKey`). */
  key: Uint8Array;
  /** The calling service (`sub`): what the callee reports as its caller. */
  caller: string;
  /** The called service's fully-qualified name (`aud`), e.g. `shop.catalog.v1.CatalogService`. */
  callee: string;
  /** Time source for `iat`/`exp`. Default `systemClock`. */
  clock?: Clock;
  /** Lifetime. Default and maximum `serviceTokenMaxTtlMs` (5 min). */
  ttlMs?: number;
}

/**
 * Mints a service token: a compact JWS (HS256) with `sub` = caller, `aud` = callee, `iat` and
 * `exp`. Plexus's network transport mints one per (caller, callee) and reuses it; tools and
 * tests that call a host's RPC port with other clients (curl, stock Connect) mint theirs here
 * and send it as `x-plexus-service-token`.
 *
 * @example
 * const token = mintServiceToken({ key, caller: "ops-script", callee: CatalogService.typeName });
 */
export function mintServiceToken(options: MintServiceTokenOptions): string {
  return mintToken(options).token;
}

/** `mintServiceToken`, also telling when the token expires (for callers that cache it). */
export function mintToken(options: MintServiceTokenOptions): {
  token: string;
  expiresAtMs: number;
} {
  const ttlMs = Math.min(options.ttlMs ?? serviceTokenMaxTtlMs, serviceTokenMaxTtlMs);
  const iat = Math.floor((options.clock ?? systemClock).now() / 1000);
  const exp = iat + Math.max(1, Math.floor(ttlMs / 1000));
  const payload = JSON.stringify({ sub: options.caller, aud: options.callee, iat, exp });
  const signingInput = `${joseHeader}.${Buffer.from(payload).toString("base64url")}`;
  return {
    token: `${signingInput}.${sign(options.key, signingInput).toString("base64url")}`,
    expiresAtMs: exp * 1000,
  };
}

/** What a valid token says. */
export interface ServiceTokenClaims {
  readonly caller: string;
  readonly audience: string;
  readonly expiresAtMs: number;
}

/**
 * Checks a token's form, signature and lifetime (not its audience: the caller compares it with
 * the method's service). Returns why it is refused as a string, which never echoes the token.
 */
export function verifyServiceToken(
  key: Uint8Array,
  token: string,
  nowMs: number,
): ServiceTokenClaims | string {
  const first = token.indexOf(".");
  const second = token.indexOf(".", first + 1);
  if (first === -1 || second === -1 || token.indexOf(".", second + 1) !== -1) return "malformed";
  if (token.slice(0, first) !== joseHeader) return "malformed";
  // Compared in its canonical encoding: one signature, one spelling (no malleable last character).
  const given = Buffer.from(token.slice(second + 1));
  const expected = Buffer.from(sign(key, token.slice(0, second)).toString("base64url"));
  if (given.byteLength !== expected.byteLength || !timingSafeEqual(given, expected)) {
    return "bad signature";
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(token.slice(first + 1, second), "base64url").toString());
  } catch {
    return "malformed";
  }
  if (typeof claims !== "object" || claims === null) return "malformed";
  const { sub, aud, iat, exp } = claims as Record<string, unknown>;
  if (
    typeof sub !== "string" ||
    !isWellFormedCorrelationId(sub) ||
    typeof aud !== "string" ||
    !Number.isSafeInteger(iat) ||
    !Number.isSafeInteger(exp)
  ) {
    return "malformed";
  }
  const issuedAtMs = (iat as number) * 1000;
  const expiresAtMs = (exp as number) * 1000;
  if (expiresAtMs - issuedAtMs > serviceTokenMaxTtlMs) return "lifetime too long";
  if (issuedAtMs > nowMs + maxClockSkewMs) return "issued in the future";
  if (expiresAtMs <= nowMs) return "expired";
  return { caller: sub, audience: aud, expiresAtMs };
}

function sign(key: Uint8Array, signingInput: string): Buffer {
  return createHmac("sha256", key).update(signingInput).digest();
}
