import type { IncomingMessage } from "node:http";

/**
 * Header name prefixes an outside client may never set: Plexus's own internal metadata, and the
 * identity headers that auth proxies (oauth2-proxy, Kong, Azure App Service, Google IAP, AWS ALB,
 * Cloudflare Access …) put on requests they have authenticated. Behind this gateway nothing has
 * authenticated them, so a client sending one is either confused or impersonating someone.
 */
export const internalHeaderPrefixes: readonly string[] = [
  "x-plexus-",
  "x-internal-",
  "x-auth-",
  "x-authenticated-",
  "x-remote-",
  "x-user-",
  "x-forwarded-user",
  "x-forwarded-email",
  "x-forwarded-groups",
  "x-forwarded-preferred-username",
  "x-forwarded-access-token",
  "x-ms-client-principal",
  "x-goog-authenticated-",
  "x-amzn-oidc-",
  "x-consumer-",
  "x-credential-",
  "cf-access-",
  "x-jwt-",
  "x-endpoint-api-userinfo",
  "x-apigateway-api-userinfo",
];

/** Exact header names with the same meaning as {@link internalHeaderPrefixes}. */
export const internalHeaderNames: readonly string[] = [
  "x-user",
  "x-userid",
  "x-username",
  "x-email",
  "x-principal",
  "x-roles",
  "x-groups",
  "x-tenant",
  "x-tier",
  "x-subject",
  "x-identity",
  "x-webauth-user",
  "remote-user",
  "remote-groups",
  "remote-email",
  "x-remote-user",
];

export interface InternalHeaderPolicy {
  readonly prefixes: readonly string[];
  readonly names: ReadonlySet<string>;
}

/** The default policy, extended with caller-supplied names and prefixes (lower-cased). */
export function createInternalHeaderPolicy(
  extraNames: readonly string[] = [],
  extraPrefixes: readonly string[] = [],
): InternalHeaderPolicy {
  return {
    prefixes: [...internalHeaderPrefixes, ...extraPrefixes.map((p) => p.toLowerCase())],
    names: new Set([...internalHeaderNames, ...extraNames.map((n) => n.toLowerCase())]),
  };
}

/** Whether a (lower-case) header name is internal under `policy`. */
export function isInternalHeader(name: string, policy: InternalHeaderPolicy): boolean {
  if (policy.names.has(name)) return true;
  for (const prefix of policy.prefixes) if (name.startsWith(prefix)) return true;
  return false;
}

/**
 * Removes internal headers from an incoming request in place — from `headers` and `rawHeaders`
 * both, so neither a handler nor a proxy that copies raw headers can see them. Returns how many
 * were removed (worth a debug log: it is usually a probe).
 */
export function stripInternalHeaders(req: IncomingMessage, policy: InternalHeaderPolicy): number {
  let removed = 0;
  for (const name of Object.keys(req.headers)) {
    if (isInternalHeader(name, policy)) {
      delete req.headers[name];
      removed++;
    }
  }
  if (removed > 0) {
    const raw = req.rawHeaders;
    let w = 0;
    for (let r = 0; r + 1 < raw.length; r += 2) {
      if (isInternalHeader(raw[r]!.toLowerCase(), policy)) continue;
      raw[w++] = raw[r]!;
      raw[w++] = raw[r + 1]!;
    }
    raw.length = w;
  }
  return removed;
}
