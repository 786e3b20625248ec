import { Code, PlexusError } from "@plexus/core";
import type { GatewayRequest } from "@plexus/gateway";

/** The authenticated caller's user id. */
export function subjectOf(req: GatewayRequest): string {
  const subject = req.principal?.subject;
  // Routes with `auth: true` only run with a principal; this guards a misconfigured route.
  if (subject === undefined) throw new PlexusError(Code.Unauthenticated, "authentication required");
  return subject;
}
