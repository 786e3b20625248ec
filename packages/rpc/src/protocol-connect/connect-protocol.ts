import { Code } from "@plexus/core";
import type { Codec } from "../message-codec.ts";

/**
 * The Connect protocol's unary wire constants and tables (https://connectrpc.com/docs/protocol),
 * in one place so the server and the client cannot drift apart.
 */

export const headerContentType = "content-type";
export const headerContentLength = "content-length";
export const headerContentEncoding = "content-encoding";
export const headerProtocolVersion = "connect-protocol-version";
export const headerTimeout = "connect-timeout-ms";

export const protocolVersion = "1";
export const contentTypeProto = "application/proto";
export const contentTypeJson = "application/json";
/** Sent on 415 answers: what the server accepts instead. */
export const acceptPost = "application/proto, application/json";

const contentTypePattern = /^application\/(proto|json)\s*(?:;\s*charset\s*=\s*"?utf-?8"?\s*)?$/i;

/**
 * Parses a unary Connect `Content-Type`. Exact matches are checked first: they are what every
 * Connect client sends, and a string compare beats a regular expression on the hot path. A charset
 * parameter is tolerated for JSON (and proto, harmlessly) as long as it says UTF-8.
 */
export function parseContentType(value: string | undefined): Codec | undefined {
  if (value === contentTypeProto) return "proto";
  if (value === contentTypeJson) return "json";
  if (value === undefined) return undefined;
  const match = contentTypePattern.exec(value);
  if (match === null) return undefined;
  return match[1]!.toLowerCase() === "proto" ? "proto" : "json";
}

/** The largest value the protocol allows in `Connect-Timeout-Ms` (10 digits). */
const timeoutPattern = /^\d{1,10}$/;

/**
 * Parses `Connect-Timeout-Ms`: `undefined` when absent, `null` when malformed (the caller answers
 * `invalid_argument`), else the relative timeout in ms.
 */
export function parseTimeoutMs(value: string | undefined): number | undefined | null {
  if (value === undefined) return undefined;
  if (!timeoutPattern.test(value)) return null;
  return Number(value);
}

const statusByCode: Record<Code, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/**
 * The HTTP status of a Connect error response. This is the wire protocol's table, which differs
 * from core's REST table (`httpStatusOf`) on purpose: stock Connect clients expect these.
 */
export function connectHttpStatus(code: Code): number {
  return statusByCode[code];
}

/**
 * The code a Connect client assumes for an HTTP error that carries no Connect error body (a proxy
 * answered, or the server is not a Connect server). Connect's own table, deliberately coarse.
 */
export function codeFromConnectHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}
