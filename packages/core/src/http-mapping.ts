import { Code } from "./code.ts";
import type { PlexusError } from "./plexus-error.ts";

interface HttpMapping {
  readonly status: number;
  readonly publicCode: string;
}

/**
 * The one table from codes to HTTP: the status and the public UPPER_SNAKE code of API.md's error
 * body. Connect's own HTTP mapping differs on purpose for a few codes (it is a wire protocol; this
 * is a public REST edge): `Unknown`/`DataLoss` are 500, `FailedPrecondition` is 422.
 */
const byCode: Record<Code, HttpMapping> = {
  [Code.Canceled]: { status: 499, publicCode: "CANCELLED" },
  [Code.Unknown]: { status: 500, publicCode: "INTERNAL" },
  [Code.InvalidArgument]: { status: 400, publicCode: "BAD_REQUEST" },
  [Code.DeadlineExceeded]: { status: 504, publicCode: "GATEWAY_TIMEOUT" },
  [Code.NotFound]: { status: 404, publicCode: "NOT_FOUND" },
  [Code.AlreadyExists]: { status: 409, publicCode: "CONFLICT" },
  [Code.PermissionDenied]: { status: 403, publicCode: "FORBIDDEN" },
  [Code.ResourceExhausted]: { status: 429, publicCode: "RATE_LIMITED" },
  [Code.FailedPrecondition]: { status: 422, publicCode: "FAILED_PRECONDITION" },
  [Code.Aborted]: { status: 409, publicCode: "CONFLICT" },
  [Code.OutOfRange]: { status: 400, publicCode: "BAD_REQUEST" },
  [Code.Unimplemented]: { status: 501, publicCode: "NOT_IMPLEMENTED" },
  [Code.Internal]: { status: 500, publicCode: "INTERNAL" },
  [Code.Unavailable]: { status: 503, publicCode: "SERVICE_UNAVAILABLE" },
  [Code.DataLoss]: { status: 500, publicCode: "INTERNAL" },
  [Code.Unauthenticated]: { status: 401, publicCode: "UNAUTHENTICATED" },
};

/**
 * Reasons whose HTTP status differs from their code's: API.md separates malformed requests (400)
 * from well-formed but invalid ones (422), and names 408/413/415 which gRPC has no code for.
 */
const statusByReason: Readonly<Record<string, number>> = {
  VALIDATION_ERROR: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  METHOD_NOT_ALLOWED: 405,
  URI_TOO_LONG: 414,
  REQUEST_TIMEOUT: 408,
  BAD_GATEWAY: 502,
  // Also raised as FailedPrecondition (a per-account login limit): a 429 whatever its code.
  RATE_LIMITED: 429,
};

/** The HTTP status a REST edge answers for this error. */
export function httpStatusOf(error: PlexusError): number {
  // hasOwn: a reason such as "toString" must not find Object.prototype's members.
  const byReason =
    error.reason !== undefined && Object.hasOwn(statusByReason, error.reason)
      ? statusByReason[error.reason]
      : undefined;
  return byReason ?? byCode[error.code].status;
}

/** The public UPPER_SNAKE code of this error (its reason, else its code's public name). */
export function publicCodeOf(error: PlexusError): string {
  return error.reason ?? byCode[error.code].publicCode;
}

/** The code a REST edge should assume for an upstream HTTP status (proxying, legacy upstreams). */
export function codeFromHttpStatus(status: number): Code {
  if (status === 400) return Code.InvalidArgument;
  if (status === 401) return Code.Unauthenticated;
  if (status === 403) return Code.PermissionDenied;
  if (status === 404) return Code.NotFound;
  if (status === 408 || status === 504) return Code.DeadlineExceeded;
  if (status === 409) return Code.Aborted;
  if (status === 429) return Code.ResourceExhausted;
  if (status === 501) return Code.Unimplemented;
  if (status === 502 || status === 503) return Code.Unavailable;
  if (status >= 400 && status < 500) return Code.InvalidArgument;
  return Code.Unknown;
}

/** API.md's error body. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: { field: string; message: string }[];
    requestId: string;
    timestamp: string;
    path: string;
  };
}

/**
 * Renders API.md's error body. Messages of `Unknown`/`Internal`/`DataLoss` errors are replaced by
 * a generic one and their details dropped: they may carry internals, and no stack, SQL or path
 * may reach a client.
 */
export function toErrorBody(
  error: PlexusError,
  request: { requestId: string; path: string; now?: Date },
): ErrorBody {
  const internal =
    error.code === Code.Unknown || error.code === Code.Internal || error.code === Code.DataLoss;
  const body: ErrorBody = {
    error: {
      code: publicCodeOf(error),
      message: internal ? "internal error" : error.message,
      requestId: request.requestId,
      timestamp: (request.now ?? new Date()).toISOString(),
      path: request.path,
    },
  };
  if (!internal && error.details.length > 0) {
    body.error.details = error.details.map((d) => ({ field: d.field, message: d.message }));
  }
  return body;
}
