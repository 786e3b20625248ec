import { Code, PlexusError, type Logger } from "@plexus/core";

/**
 * What crosses a process boundary from a handler's failure: a PlexusError as is (its code,
 * message, reason, details, metadata; never its cause), anything else normalised by
 * `PlexusError.from`, so an unexpected error's message and stack stay in the logs.
 */
export function toWireError(error: unknown, logger?: Logger): PlexusError {
  const normalised = PlexusError.from(error);
  if (normalised !== error && logger !== undefined && normalised.code === Code.Unknown) {
    logger.error({ err: error }, "handler failed with an unexpected error");
  }
  return normalised;
}

/**
 * The error exactly as the other side of the wire sees it: same code, message, reason, details and
 * metadata, no cause and no stack. The in-process transport hands this copy to its caller so an
 * in-process call and a network call fail identically.
 */
export function wireCopy(error: PlexusError): PlexusError {
  return new PlexusError(error.code, error.message, {
    reason: error.reason,
    details: error.details,
    metadata: error.metadata,
  });
}
