import { PlexusError } from "./plexus-error.ts";

/**
 * The `PlexusError.metadata` key that carries a server's (or a policy's) hint of when to try
 * again, in whole milliseconds as a decimal string. Transports translate the wire forms into it:
 * gRPC's `grpc-retry-pushback-ms` (gRFC A6 "Pushback") and HTTP's `Retry-After` header
 * (RFC 9110 §10.2.3). The gateway turns it back into `Retry-After` at the public edge.
 *
 * Semantics follow gRFC A6: a non-negative integer means "retry after exactly this delay" (it
 * overrides the backoff); a present but negative or unparseable value means "do not retry".
 *
 * It lives in core, not in `@plexus/resilience` which reads it, because the transports that fill
 * it (`@plexus/rpc`, HTTP clients) must not depend on the policies.
 */
export const retryAfterKey = "retryAfterMs";

/**
 * Parses a gRPC `grpc-retry-pushback-ms` value (gRFC A6: "an ASCII encoded signed 32-bit integer
 * with no unnecessary leading zeros"): the delay in ms, or `-1` ("do not retry") when it is
 * negative or unparseable, exactly as A6 reads it.
 */
export function parsePushbackMs(value: string): number {
  if (!/^(0|-?[1-9][0-9]{0,9})$/.test(value)) return -1;
  const ms = Number(value);
  return ms < 0 || ms > 2_147_483_647 ? -1 : ms;
}

/**
 * The pushback an error carries (see {@link retryAfterKey}): `undefined` when there is none, a
 * delay in ms (>= 0) when the server asks for a retry after it, `-1` when it asks for no retry.
 * The one reader every retry loop shares (the client policies' and the saga's own).
 */
export function retryAfterMsOf(error: unknown): number | undefined {
  if (!(error instanceof PlexusError)) return undefined;
  const raw = error.metadata[retryAfterKey];
  if (raw === undefined) return undefined;
  return parsePushbackMs(raw);
}

/**
 * Parses an HTTP `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns
 * the delay in ms (a date in the past is 0), or `undefined` when the header is absent or
 * malformed — unlike gRPC pushback, a malformed `Retry-After` is ignored, as HTTP clients do.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  nowMs: number,
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^[0-9]+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date) || !/[a-z]/i.test(trimmed)) return undefined;
  return Math.max(0, date - nowMs);
}
