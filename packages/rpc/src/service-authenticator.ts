import { Code, PlexusError, systemClock, type Clock } from "@plexus/core";
import { verifyServiceToken, type ServiceTokenClaims } from "./service-token.ts";

export interface ServiceAuthenticatorOptions {
  /** The topology key every service of the topology shares (`parseServiceKey`). */
  key: Uint8Array;
  /** Time source for token lifetimes. Default `systemClock`; tests inject a fake one. */
  clock?: Clock;
  /**
   * Most verified tokens remembered. Default 1 024: callers reuse one token per (caller, callee)
   * for minutes, so a topology needs a handful; the bound caps the memory a peer can pin.
   */
  maxCachedTokens?: number;
}

/** The server side of service identity: who is calling, or why the call is refused. */
export interface ServiceAuthenticator {
  /**
   * The authenticated calling service for a call to `service` (fully-qualified name) carrying
   * `token`, or an `Unauthenticated` error: missing, malformed, badly signed, expired, or meant
   * for another service.
   */
  authenticate(token: string | undefined, service: string): string | PlexusError;
}

function unauthenticated(why: string): PlexusError {
  return new PlexusError(Code.Unauthenticated, `service token ${why}`);
}

/**
 * Verifies the `x-plexus-service-token` of network calls (ADR 13). A token is verified once
 * (one HMAC) and then remembered until it expires, so the steady state costs a map lookup and
 * two comparisons per call, no cryptography. Only valid tokens enter the cache: forging one
 * needs the key, so a hostile peer cannot flush it.
 *
 * @example
 * const server = await createRpcServer({ services, authenticator: createServiceAuthenticator({ key }) });
 */
export function createServiceAuthenticator(
  options: ServiceAuthenticatorOptions,
): ServiceAuthenticator {
  const { key } = options;
  const clock = options.clock ?? systemClock;
  const maxCachedTokens = options.maxCachedTokens ?? 1_024;
  const verified = new Map<string, ServiceTokenClaims>();

  return {
    authenticate(token, service) {
      if (token === undefined) return unauthenticated("missing");
      const now = clock.now();
      let claims = verified.get(token);
      if (claims === undefined) {
        const result = verifyServiceToken(key, token, now);
        if (typeof result === "string") return unauthenticated(result);
        claims = result;
        // Map order is insertion order: the oldest token goes first.
        if (verified.size >= maxCachedTokens) verified.delete(verified.keys().next().value!);
        verified.set(token, claims);
      } else if (claims.expiresAtMs <= now) {
        verified.delete(token);
        return unauthenticated("expired");
      }
      if (claims.audience !== service) return unauthenticated("meant for another service");
      return claims.caller;
    },
  };
}
