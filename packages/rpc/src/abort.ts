import { setMaxListeners } from "node:events";
import { Code, PlexusError } from "@plexus/core";

/**
 * One signal that never aborts, shared by every call that has neither a deadline nor a caller
 * signal: such calls need no AbortController of their own. Never hand it to code that adds
 * listeners (they would pile up on a shared target); check for it first. It is resilience's
 * own sentinel, not a second one: a call's signal reaches its policies, which check for theirs.
 */
export { neverAborted } from "@plexus/resilience";

/**
 * The error an aborted signal stands for: the PlexusError it was aborted with (a deadline, a
 * parent's cancellation), `DeadlineExceeded` for a `TimeoutError`, else `Canceled`.
 */
export function abortReason(signal: AbortSignal): PlexusError {
  const reason: unknown = signal.reason;
  if (reason instanceof PlexusError) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new PlexusError(Code.DeadlineExceeded, "deadline exceeded", { cause: reason });
  }
  return new PlexusError(Code.Canceled, "call canceled", { cause: reason });
}

/**
 * A controller whose signal may get one listener per concurrent child call (a handler fanning
 * out): Node would warn past 10 listeners, which is a false alarm here since every child removes
 * its listener when it ends.
 */
export function fanOutController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** Why a call fails, and its handler's signal aborts, once its deadline passes. */
export function deadlineExceeded(): PlexusError {
  return new PlexusError(Code.DeadlineExceeded, "deadline exceeded");
}

/** Why a handler's signal aborts when its caller goes away or gives up. */
export function canceledByClient(): PlexusError {
  return new PlexusError(Code.Canceled, "call canceled by the client");
}
