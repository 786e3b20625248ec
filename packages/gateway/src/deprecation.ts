/**
 * A route's deprecation schedule. Every response of the route (errors included) then carries
 * `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and a `Link` to its successor, so clients learn
 * about the move from any call they make.
 */
export interface DeprecationPolicy {
  /** When the route was (or will be) deprecated: `Deprecation: @<unix seconds>`. */
  deprecatedAt: Date;
  /** When the route stops answering: `Sunset: <HTTP-date>`. */
  sunset: Date;
  /**
   * The successor's URL for the request's path parameters, e.g.
   * `(p) => "/api/v2/users/" + encodeURIComponent(p.id)`: `Link: <url>; rel="successor-version"`.
   * Path parameters may be missing on a 405 of a path whose template lacks them.
   */
  successor?: (params: Readonly<Record<string, string>>) => string;
}

/** The response headers a deprecated route adds. */
export function deprecationHeaders(
  policy: DeprecationPolicy,
  params: Readonly<Record<string, string>>,
): Record<string, string> {
  const headers: Record<string, string> = {
    // RFC 9745 §2.1: an RFC 9651 Date structured field, `@` + integer seconds since the epoch.
    deprecation: `@${Math.floor(policy.deprecatedAt.getTime() / 1000)}`,
    // RFC 8594 §3: an HTTP-date (IMF-fixdate), which toUTCString() produces.
    sunset: policy.sunset.toUTCString(),
  };
  if (policy.successor) {
    const url = policy.successor(params);
    // A URI inside <> must not carry characters that would break the header's syntax.
    if (!/[<>\s"]/.test(url)) headers["link"] = `<${url}>; rel="successor-version"`;
  }
  return headers;
}
