import { systemClock, type Clock } from "@plexus/core";
import { mintToken, serviceTokenMaxTtlMs } from "./service-token.ts";

export interface ServiceCredentialsOptions {
  /** The topology key every service of the topology shares (`parseServiceKey`). */
  key: Uint8Array;
  /**
   * Who calls when a call names no caller (`createClient`'s `caller`), e.g. the host's name.
   * The callee reports this as the caller.
   */
  service: string;
  /** Time source for token lifetimes. Default `systemClock`. */
  clock?: Clock;
  /** Token lifetime. Default and maximum 5 min (`serviceTokenMaxTtlMs`). */
  ttlMs?: number;
}

/** The client side of service identity: a token per (caller, callee), minted once and reused. */
export interface ServiceCredentials {
  /** The caller used when a call names none. */
  readonly service: string;
  /** A valid token from `caller` to `callee` (fully-qualified service name). */
  tokenFor(caller: string, callee: string): string;
}

interface Minted {
  readonly token: string;
  readonly refreshAtMs: number;
}

/**
 * Tokens for a network transport (ADR 13). Signing per call would put an HMAC on every call;
 * instead each (caller, callee) pair's token is reused and re-minted once less than a minute
 * (or half its lifetime) is left, so a call in flight never carries a token about to expire.
 *
 * @example
 * const transport = createNetworkTransport({
 *   baseUrl, credentials: createServiceCredentials({ key, service: "orders" }),
 * });
 */
export function createServiceCredentials(options: ServiceCredentialsOptions): ServiceCredentials {
  const { key, service } = options;
  const clock = options.clock ?? systemClock;
  const ttlMs = Math.min(options.ttlMs ?? serviceTokenMaxTtlMs, serviceTokenMaxTtlMs);
  const margin = Math.min(60_000, ttlMs / 2);
  const byCaller = new Map<string, Map<string, Minted>>();

  return {
    service,
    tokenFor(caller, callee) {
      let byCallee = byCaller.get(caller);
      if (byCallee === undefined) byCaller.set(caller, (byCallee = new Map<string, Minted>()));
      const now = clock.now();
      const minted = byCallee.get(callee);
      if (minted !== undefined && now < minted.refreshAtMs) return minted.token;
      const { token, expiresAtMs } = mintToken({ key, caller, callee, clock, ttlMs });
      byCallee.set(callee, { token, refreshAtMs: expiresAtMs - margin });
      return token;
    },
  };
}
