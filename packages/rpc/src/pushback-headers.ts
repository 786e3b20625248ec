import type { OutgoingHttpHeaders } from "node:http";
import { parsePushbackMs, parseRetryAfter, PlexusError, retryAfterKey } from "@plexus/core";
import { firstHeaderValue } from "./propagation.ts";

/** gRFC A6's pushback: ms as a signed 32-bit integer; negative means "do not retry". */
export const headerRetryPushback = "grpc-retry-pushback-ms";
/** RFC 9110's `Retry-After` (delay-seconds when we write it): what curl and HTTP proxies read. */
export const headerRetryAfter = "retry-after";

/**
 * Mirrors an error's pushback (`metadata.retryAfterMs`) into the two standard response headers,
 * so that gRPC-minded clients and plain HTTP clients alike can honour it without decoding the
 * body: `grpc-retry-pushback-ms` always (`-1`, "do not retry", for a negative or malformed
 * value, as gRFC A6 reads it) and `Retry-After` in whole seconds, rounded up like the gateway
 * does, when the pushback is a delay (HTTP has no way to say "do not retry").
 *
 * This is the only metadata entry that becomes a header: metadata as a whole travels in the
 * error body's `google.rpc.ErrorInfo` detail (where `retryAfterMs` stays too, for clients that
 * read details), never as arbitrary headers. The value is written in its parsed, canonical form,
 * so whatever string a handler put there cannot produce an invalid header.
 */
export function writePushbackHeaders(error: PlexusError, headers: OutgoingHttpHeaders): void {
  const raw = error.metadata[retryAfterKey];
  if (raw === undefined) return;
  const ms = parsePushbackMs(raw);
  headers[headerRetryPushback] = String(ms);
  if (ms >= 0) headers[headerRetryAfter] = String(Math.ceil(ms / 1000));
}

type ResponseHeaders = Record<string, string | string[] | undefined>;

/**
 * The pushback an error response states in its headers, as a `retryAfterMs` metadata value:
 * `grpc-retry-pushback-ms` when present (a negative or malformed value becomes `-1`, "do not
 * retry", per gRFC A6), else `Retry-After` (delay-seconds or an HTTP-date, relative to `nowMs`;
 * a malformed one is ignored, as HTTP clients do), else `undefined`.
 */
export function pushbackFromHeaders(headers: ResponseHeaders, nowMs: number): string | undefined {
  const pushback = firstHeaderValue(headers[headerRetryPushback]);
  if (pushback !== undefined) return String(parsePushbackMs(pushback));
  const retryAfterMs = parseRetryAfter(firstHeaderValue(headers[headerRetryAfter]), nowMs);
  return retryAfterMs === undefined ? undefined : String(retryAfterMs);
}

/**
 * The error a client throws for an error response: `error` (decoded from the body) with the
 * headers' pushback filled in as `metadata.retryAfterMs`, so a retry policy honours it. A
 * pushback the body's metadata already states is kept: it is the server's own word, exact to
 * the millisecond, where `Retry-After` is rounded to seconds.
 */
export function withHeaderPushback(
  error: PlexusError,
  headers: ResponseHeaders,
  nowMs: number,
): PlexusError {
  if (error.metadata[retryAfterKey] !== undefined) return error;
  const pushback = pushbackFromHeaders(headers, nowMs);
  if (pushback === undefined) return error;
  return new PlexusError(error.code, error.message, {
    reason: error.reason,
    details: error.details,
    metadata: { ...error.metadata, [retryAfterKey]: pushback },
  });
}
