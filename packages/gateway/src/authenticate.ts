import type { IncomingMessage } from "node:http";
import type { Principal } from "@plexus/core";
import { unauthenticated, type Authenticator } from "./jwt-verifier.ts";
import { singleHeader } from "./single-header.ts";

/**
 * The request's principal under a route's `auth` setting. `true` makes a missing or invalid
 * token a 401; `"optional"` makes it anonymous; `false` never looks at the header.
 */
export async function authenticate(
  req: IncomingMessage,
  auth: boolean | "optional",
  authenticator: Authenticator | undefined,
): Promise<Principal | undefined> {
  if (auth === false) return undefined;
  const header = singleHeader(req.headers["authorization"]);
  if (authenticator === undefined) {
    if (auth === true) throw unauthenticated();
    return undefined;
  }
  try {
    return await authenticator.authenticate(header);
  } catch (error) {
    if (auth === true) throw error;
    // "optional": an unusable token leaves the request anonymous, like no token at all.
    return undefined;
  }
}
