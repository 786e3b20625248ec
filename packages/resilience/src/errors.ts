import { Code, PlexusError, retryAfterKey, retryAfterMsOf } from "@plexus/core";

// Core owns the pushback key and its reader (the transports fill it without depending on this
// package, the saga engine reads it too); they stay part of this package's API, where the
// policies that honour them live. Its wire parsers (`grpc-retry-pushback-ms`, `Retry-After`)
// are core's and the transports' alone: this package knows no wire format.
export { retryAfterKey, retryAfterMsOf };

/** Which policy refused a call without running it. */
export type RejectionKind =
  "circuit-open" | "bulkhead-full" | "bulkhead-queue-timeout" | "rate-limited" | "deadline-passed";

/**
 * Errors raised by this process's own policies (an open circuit, a full bulkhead, an empty rate
 * limiter). Kept out of band — not in the error's reason or metadata, which cross the wire — so
 * that this process's retry never retries its own refusals, while a caller one hop up sees an
 * ordinary retryable `Unavailable` with a `retryAfterMs` hint and may try another replica.
 */
const localRejections = new WeakMap<PlexusError, RejectionKind>();

/** Builds the error a policy rejects a call with (and remembers it as a local rejection). */
export function rejection(
  kind: RejectionKind,
  message: string,
  retryAfterMs: number | undefined,
): PlexusError {
  // Rate limiting keeps gRPC's RESOURCE_EXHAUSTED (a 429 at the edge); refusing to call an
  // overloaded or broken dependency is UNAVAILABLE (a 503 with Retry-After at the edge).
  const code =
    kind === "rate-limited"
      ? Code.ResourceExhausted
      : kind === "deadline-passed"
        ? Code.DeadlineExceeded
        : Code.Unavailable;
  const error = new PlexusError(code, message, {
    metadata:
      retryAfterMs === undefined ? undefined : { [retryAfterKey]: String(Math.ceil(retryAfterMs)) },
  });
  localRejections.set(error, kind);
  return error;
}

/** The policy that refused this call in this process, or `undefined` for any other error. */
export function rejectionKindOf(error: unknown): RejectionKind | undefined {
  return error instanceof PlexusError ? localRejections.get(error) : undefined;
}

/** The error every timeout and deadline aborts with. */
export function deadlineExceeded(message = "deadline exceeded"): PlexusError {
  return new PlexusError(Code.DeadlineExceeded, message);
}

/**
 * The error of an attempt refused because its deadline had already passed: `DeadlineExceeded`,
 * and a local rejection — the callee was never called, so a breaker does not count it and a
 * retry does not retry it.
 */
export function deadlinePassed(): PlexusError {
  return rejection("deadline-passed", "deadline exceeded", undefined);
}

/**
 * The error an aborted signal stands for: its reason when it is a PlexusError (a deadline, a
 * parent's cancellation), `DeadlineExceeded` for a `TimeoutError`, else `Canceled`.
 */
export function abortError(signal: AbortSignal): PlexusError {
  const reason: unknown = signal.reason;
  if (reason instanceof PlexusError) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new PlexusError(Code.DeadlineExceeded, "deadline exceeded", { cause: reason });
  }
  return new PlexusError(Code.Canceled, "operation canceled", { cause: reason });
}
