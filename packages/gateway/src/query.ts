import { Code, PlexusError } from "@plexus/core";

/**
 * Parses a query string (without the `?`) strictly. `URLSearchParams` silently keeps malformed
 * escapes like `%zz` as literal text; a public API should say the request is malformed instead, so
 * bad percent-encoding (including invalid UTF-8) is a 400 here. Repeated names are kept (use
 * `getAll`); more than `maxParams` pairs is a 400 too (a cheap guard against hash-flooding and
 * absurd inputs).
 */
export function parseQuery(search: string, maxParams: number): URLSearchParams {
  const params = new URLSearchParams();
  if (search === "") return params;
  let count = 0;
  for (const piece of search.split("&")) {
    if (piece === "") continue;
    if (++count > maxParams) {
      throw badQuery(`too many query parameters (at most ${maxParams})`);
    }
    const eq = piece.indexOf("=");
    const rawName = eq === -1 ? piece : piece.slice(0, eq);
    const rawValue = eq === -1 ? "" : piece.slice(eq + 1);
    params.append(decodeComponent(rawName), decodeComponent(rawValue));
  }
  return params;
}

function decodeComponent(raw: string): string {
  const plus = raw.includes("+") ? raw.replaceAll("+", " ") : raw;
  if (!plus.includes("%")) return plus;
  try {
    return decodeURIComponent(plus);
  } catch (error) {
    throw badQuery("malformed percent-encoding in query string", error);
  }
}

function badQuery(message: string, cause?: unknown): PlexusError {
  return new PlexusError(Code.InvalidArgument, message, { reason: "BAD_REQUEST", cause });
}
