import type { DescMethod } from "@bufbuild/protobuf";
import type { PlexusError } from "@plexus/core";
import { firstHeaderValue, type IncomingHeaders } from "./propagation.ts";
import type { ServiceAuthenticator } from "./service-authenticator.ts";
import { headerServiceToken } from "./service-token.ts";

/**
 * The server's one authentication step for a network call to `method`: the calling service
 * named by a valid `x-plexus-service-token` meant for the method's service, or why not.
 */
export function authenticateCaller(
  authenticator: ServiceAuthenticator,
  headers: IncomingHeaders,
  method: DescMethod,
): string | PlexusError {
  return authenticator.authenticate(
    firstHeaderValue(headers[headerServiceToken]),
    method.parent.typeName,
  );
}
