/** A request target split at the `?`; both parts still percent-encoded. */
export interface RequestTarget {
  readonly path: string;
  /** Without the `?`; `""` when there is none. */
  readonly query: string;
}

/**
 * Splits the request target into path and query. Origin-form (`/a?b`) is the norm; absolute-form
 * (`http://host/a?b`, RFC 9112 §3.2.2) is accepted too; anything else (`*`, garbage) is undefined.
 */
export function requestTarget(url: string): RequestTarget | undefined {
  let rest = url;
  if (!rest.startsWith("/")) {
    const m = /^https?:\/\/[^/?#]*/i.exec(rest);
    if (!m) return undefined;
    rest = rest.slice(m[0].length) || "/";
    if (!rest.startsWith("/")) rest = `/${rest}`;
  }
  const q = rest.indexOf("?");
  return q === -1
    ? { path: rest, query: "" }
    : { path: rest.slice(0, q), query: rest.slice(q + 1) };
}
