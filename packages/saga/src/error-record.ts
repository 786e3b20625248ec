import { PlexusError, codeToConnectName, publicCodeOf } from "@plexus/core";
import type { ErrorRecord } from "./saga-view.ts";

const maxMessageLength = 1_000;

/**
 * What the timeline keeps of an error. The admin API is operator-only, so the underlying cause's
 * message is kept too (a generic "internal error" would tell an operator nothing); it is bounded
 * so one huge message cannot bloat the log table.
 */
export function toErrorRecord(error: unknown): ErrorRecord {
  const plexus = PlexusError.from(error);
  let message = plexus.message;
  const cause = plexus.cause ?? (plexus === error ? undefined : error);
  if (cause instanceof Error && cause.message && cause.message !== message) {
    message = `${message}: ${cause.message}`;
  }
  return {
    code: codeToConnectName(plexus.code),
    reason: publicCodeOf(plexus),
    message: message.length > maxMessageLength ? `${message.slice(0, maxMessageLength)}…` : message,
  };
}
