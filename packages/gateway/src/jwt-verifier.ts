import {
  Code,
  PlexusError,
  systemClock,
  type Clock,
  type Logger,
  type Principal,
} from "@plexus/core";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";

/**
 * Turns a request's `Authorization` header into a principal. The gateway calls it for routes
 * with `auth: true` (and, with `"optional"`, to key rate limits on the user when a token is sent).
 */
export interface Authenticator {
  /**
   * `undefined` when there is no `Authorization` header; a principal for valid credentials;
   * throws `Unauthenticated` for invalid ones (and `Unavailable` when credentials cannot be
   * checked right now, e.g. the key set cannot be fetched).
   */
  authenticate(authorization: string | undefined): Promise<Principal | undefined>;
}

export interface JwtVerifierOptions {
  /**
   * Fetches the issuer's current key set (JWKS). The shop fetches it over RPC from the users
   * service; anything returning a JWKS works. Called lazily, then again when the cache is older
   * than `cacheTtlMs` or a token names an unknown `kid` (key rotation).
   */
  getJwks: (signal: AbortSignal) => Promise<JSONWebKeySet>;
  /** Expected `iss`. Required: a token from another issuer is never accepted. */
  issuer: string | readonly string[];
  /** Expected `aud`. Required: a token minted for another audience is never accepted. */
  audience: string | readonly string[];
  /**
   * Accepted signature algorithms. Default `["EdDSA"]`. `none` and HMAC (`HS*`) are refused at
   * construction: with a public key set, HMAC would let anyone sign with the public key as secret.
   */
  algorithms?: readonly string[];
  /** Tolerated clock skew for `exp`/`nbf`/`iat`. Default 5 000 ms: small, but NTP is not perfect. */
  clockToleranceMs?: number;
  /** How long a fetched key set is used before it is re-fetched. Default 600 000 ms (10 min). */
  cacheTtlMs?: number;
  /**
   * Least time between two fetches triggered by an unknown `kid`. Default 30 000 ms: rotation is
   * picked up quickly, but a flood of tokens with random `kid`s cannot hammer the issuer.
   */
  refetchCooldownMs?: number;
  /** Timeout of one key set fetch. Default 5 000 ms. */
  fetchTimeoutMs?: number;
  /** Claim holding the plan tier. Default `tier`. */
  tierClaim?: string;
  /** Tier of a token without the tier claim. Default `free`. */
  defaultTier?: string;
  /** Longest accepted token in characters. Default 8 192: bounds the work an attacker can cause. */
  maxTokenLength?: number;
  /** Time source for `exp`/`nbf` checks and cache ages. Default the system clock. */
  clock?: Clock;
  /** Where key set fetch failures are logged (token failures are not: they are routine). */
  logger?: Logger;
}

export interface VerifiedToken {
  readonly principal: Principal;
  readonly claims: JWTPayload;
}

export interface JwtVerifier extends Authenticator {
  /** Verifies a compact JWT; throws `Unauthenticated` (one message for every reason). */
  verify(token: string): Promise<VerifiedToken>;
  /** Fetches the key set now (e.g. at startup, so the first request does not wait). */
  refresh(): Promise<void>;
}

/** The one answer for every authentication failure: which check failed is not the client's business. */
export function unauthenticated(cause?: unknown): PlexusError {
  return new PlexusError(Code.Unauthenticated, "missing or invalid credentials", { cause });
}

const forbiddenAlgorithm = /^(none|HS\d+)$/i;

/**
 * Creates a JWT verifier over a JWKS obtained from `getJwks` (with `jose`): signature with an
 * allowed algorithm and a key from the set, `iss`, `aud`, `exp` (required), `nbf`, and `sub`
 * (required). The principal is `{ subject: sub, tier: claims.tier ?? "free" }`.
 *
 * @example
 * const verifier = createJwtVerifier({
 *   getJwks: () => users.getJwks({}).then((r) => JSON.parse(r.json)),
 *   issuer: "plexus-shop",
 *   audience: "plexus-shop-api",
 * });
 * createGateway({ authenticator: verifier });
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const algorithms = [...(options.algorithms ?? ["EdDSA"])];
  if (algorithms.length === 0) throw new Error("JWT verifier needs at least one algorithm");
  for (const alg of algorithms) {
    if (forbiddenAlgorithm.test(alg)) {
      throw new Error(`JWT algorithm "${alg}" is not allowed with a public key set`);
    }
  }
  const clock = options.clock ?? systemClock;
  const clockToleranceSec = (options.clockToleranceMs ?? 5_000) / 1000;
  const cacheTtlMs = options.cacheTtlMs ?? 600_000;
  const refetchCooldownMs = options.refetchCooldownMs ?? 30_000;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 5_000;
  const tierClaim = options.tierClaim ?? "tier";
  const defaultTier = options.defaultTier ?? "free";
  const maxTokenLength = options.maxTokenLength ?? 8_192;
  const issuer = typeof options.issuer === "string" ? options.issuer : [...options.issuer];
  const audience = typeof options.audience === "string" ? options.audience : [...options.audience];

  let keys: ReturnType<typeof createLocalJWKSet> | undefined;
  let fetchedAt = -Infinity;
  let inflight: Promise<void> | undefined;

  /** One fetch at a time; concurrent callers share it. */
  function fetchKeys(): Promise<void> {
    inflight ??= (async () => {
      try {
        const jwks = await options.getJwks(AbortSignal.timeout(fetchTimeoutMs));
        keys = createLocalJWKSet(jwks);
      } finally {
        // Even a failed fetch counts, so the cooldown also protects an issuer that is down.
        fetchedAt = clock.now();
        inflight = undefined;
      }
    })();
    return inflight;
  }

  async function currentKeys(): Promise<ReturnType<typeof createLocalJWKSet>> {
    if (keys === undefined || clock.now() - fetchedAt >= cacheTtlMs) {
      try {
        await fetchKeys();
      } catch (error) {
        options.logger?.warn({ err: error }, "JWKS fetch failed");
        // A stale key set beats refusing every user while the issuer is briefly down.
        if (keys === undefined) {
          throw new PlexusError(Code.Unavailable, "authentication is temporarily unavailable", {
            cause: error,
          });
        }
      }
    }
    return keys!;
  }

  async function verifyWith(token: string, set: ReturnType<typeof createLocalJWKSet>) {
    return jwtVerify(token, set, {
      algorithms,
      issuer,
      audience,
      clockTolerance: clockToleranceSec,
      currentDate: new Date(clock.now()),
      requiredClaims: ["exp", "sub"],
    });
  }

  async function verify(token: string): Promise<VerifiedToken> {
    if (token.length === 0 || token.length > maxTokenLength) throw unauthenticated();
    const set = await currentKeys();
    let payload: JWTPayload;
    try {
      ({ payload } = await verifyWith(token, set));
    } catch (error) {
      if (!isNoMatchingKey(error) || clock.now() - fetchedAt < refetchCooldownMs) {
        throw unauthenticated(error);
      }
      // An unknown kid: the issuer may have rotated its keys since the last fetch.
      try {
        await fetchKeys();
      } catch (fetchError) {
        options.logger?.warn({ err: fetchError }, "JWKS refetch failed");
        throw unauthenticated(error);
      }
      try {
        ({ payload } = await verifyWith(token, keys!));
      } catch (retryError) {
        throw unauthenticated(retryError);
      }
    }
    if (typeof payload.sub !== "string" || payload.sub === "") throw unauthenticated();
    const tier = payload[tierClaim];
    return {
      principal: { subject: payload.sub, tier: typeof tier === "string" ? tier : defaultTier },
      claims: payload,
    };
  }

  return {
    verify,
    async authenticate(authorization) {
      if (authorization === undefined) return undefined;
      const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
      if (!match) throw unauthenticated();
      return (await verify(match[1]!)).principal;
    },
    refresh: fetchKeys,
  };
}

function isNoMatchingKey(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "ERR_JWKS_NO_MATCHING_KEY";
}
