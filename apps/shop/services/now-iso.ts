import type { Clock } from "@plexus/core";

/** The clock's current time as RFC 3339 (UTC, milliseconds): how every service stamps its rows. */
export function nowIso(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
