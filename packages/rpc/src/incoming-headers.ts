import type { IncomingHeaders } from "./propagation.ts";

/**
 * Node's incoming header object as a fetch `Headers`, the shape handlers and interceptors see.
 * HTTP/2 pseudo-headers (`:path`, `:method`, …) are transport details and are left out.
 */
export function toFetchHeaders(raw: IncomingHeaders): Headers {
  const headers = new Headers();
  for (const name in raw) {
    if (name.charCodeAt(0) === 58 /* ":" */) continue;
    const value = raw[name];
    if (value === undefined) continue;
    try {
      if (typeof value === "string") headers.append(name, value);
      else for (const v of value) headers.append(name, v);
    } catch {
      // A value fetch's Headers refuses (it is stricter than Node's parser) is dropped rather
      // than failing the call: nothing Plexus reads depends on it.
    }
  }
  return headers;
}
