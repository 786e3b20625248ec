import { Code, PlexusError } from "@plexus/core";
import type { GatewayRequest } from "@plexus/gateway";
import { idempotencyKeyViolation } from "../services/idempotency-key.ts";

const headerName = "idempotency-key";

function badKey(message: string): PlexusError {
  return new PlexusError(Code.InvalidArgument, message, {
    details: [{ field: "Idempotency-Key", message }],
  });
}

/**
 * Reads the `Idempotency-Key` header of a request that creates something.
 *
 * @throws PlexusError 400 `BAD_REQUEST` when it is missing, sent more than once (node would join
 *   the copies with ", " into one plausible key), or not 1–255 printable ASCII characters.
 */
export function readIdempotencyKey(req: GatewayRequest): string {
  let copies = 0;
  const raw = req.raw.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === headerName) copies += 1;
  }
  if (copies > 1) throw badKey("the Idempotency-Key header must be sent once");
  const value = req.headers[headerName];
  if (typeof value !== "string" || value === "") {
    throw badKey("the Idempotency-Key header is required");
  }
  const problem = idempotencyKeyViolation(value);
  if (problem !== undefined) throw badKey(`the Idempotency-Key header ${problem}`);
  return value;
}
