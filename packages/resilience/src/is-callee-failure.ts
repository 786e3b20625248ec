import { Code, PlexusError } from "@plexus/core";
import { rejectionKindOf } from "./errors.ts";

/**
 * The default failure predicate: codes that say the callee is unavailable, overloaded, too slow
 * or broken. A callee answering NOT_FOUND or INVALID_ARGUMENT is healthy, so those count as
 * successes; errors that are not PlexusErrors are failures, as in Resilience4j.
 */
export function isCalleeFailure(error: unknown): boolean {
  if (!(error instanceof PlexusError)) return true;
  const code = error.code;
  return (
    code === Code.Unavailable ||
    code === Code.DeadlineExceeded ||
    code === Code.ResourceExhausted ||
    code === Code.Internal ||
    code === Code.Unknown ||
    code === Code.DataLoss
  );
}

/**
 * The default ignore predicate: cancellations (the caller gave up; that says nothing of the
 * callee) and this process's policy rejections.
 */
export function isIgnoredByDefault(error: unknown): boolean {
  return (
    error instanceof PlexusError &&
    (error.code === Code.Canceled || rejectionKindOf(error) !== undefined)
  );
}
