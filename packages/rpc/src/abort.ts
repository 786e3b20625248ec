import { Code, PlexusError } from "@plexus/core";

/**
 * Core's: the signal of a call that cannot abort (never add listeners to it), and the error an
 * aborted signal stands for.
 */
export { abortReason, neverAborted } from "@plexus/core";

/** Why a call fails, and its handler's signal aborts, once its deadline passes. */
export function deadlineExceeded(): PlexusError {
  return new PlexusError(Code.DeadlineExceeded, "deadline exceeded");
}

/** Why a handler's signal aborts when its caller goes away or gives up. */
export function canceledByClient(): PlexusError {
  return new PlexusError(Code.Canceled, "call canceled by the client");
}
