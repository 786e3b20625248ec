/**
 * The closed set of status codes every Plexus error carries: the 16 gRPC codes (OK excluded),
 * numbered as gRPC numbers them so the gRPC wire needs no table, named as Connect names them.
 */
export const Code = {
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;

export type Code = (typeof Code)[keyof typeof Code];

const connectNames: Record<Code, string> = {
  [Code.Canceled]: "canceled",
  [Code.Unknown]: "unknown",
  [Code.InvalidArgument]: "invalid_argument",
  [Code.DeadlineExceeded]: "deadline_exceeded",
  [Code.NotFound]: "not_found",
  [Code.AlreadyExists]: "already_exists",
  [Code.PermissionDenied]: "permission_denied",
  [Code.ResourceExhausted]: "resource_exhausted",
  [Code.FailedPrecondition]: "failed_precondition",
  [Code.Aborted]: "aborted",
  [Code.OutOfRange]: "out_of_range",
  [Code.Unimplemented]: "unimplemented",
  [Code.Internal]: "internal",
  [Code.Unavailable]: "unavailable",
  [Code.DataLoss]: "data_loss",
  [Code.Unauthenticated]: "unauthenticated",
};

const byConnectName = new Map<string, Code>(
  Object.entries(connectNames).map(([code, name]) => [name, Number(code) as Code]),
);

/** All codes, in numeric order; handy for exhaustive tests. */
export const allCodes: readonly Code[] = Object.values(Code);

/** The Connect protocol's wire name of a code, e.g. `not_found`. */
export function codeToConnectName(code: Code): string {
  return connectNames[code];
}

/** Parses a Connect wire name; unknown names become `undefined` (callers decide the fallback). */
export function codeFromConnectName(name: string): Code | undefined {
  return byConnectName.get(name);
}

/** Parses a gRPC numeric status; 0 (OK) and out-of-range values are `undefined`. */
export function codeFromGrpcStatus(status: number): Code | undefined {
  return Number.isInteger(status) && status >= 1 && status <= 16 ? (status as Code) : undefined;
}

/**
 * Whether a failed call with this code may be retried as-is. One place decides it, for every
 * policy: a transient server-side condition is retryable; anything the caller got wrong is not.
 */
export function isRetryableCode(code: Code): boolean {
  return (
    code === Code.Unavailable || code === Code.ResourceExhausted || code === Code.DeadlineExceeded
  );
}
