import { Readable } from "node:stream";
import { Code, PlexusError, type Logger } from "@plexus/core";
import type { Exchange, ResponseHeaders } from "./exchange.ts";
import { jsonContentType } from "./json-content-type.ts";
import type { GatewayResponse } from "./route.ts";

/**
 * Writes a handler's response. The exchange's headers (ids, trace, rate limits) win over the
 * handler's, which a handler cannot be trusted to get right; JSON bodies always say so.
 */
export function writeResponse(ex: Exchange, response: GatewayResponse, logger: Logger): void {
  const hasPayload = response.body !== undefined;
  const status = response.status ?? (hasPayload ? 200 : 204);
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new PlexusError(Code.Internal, `handler returned invalid status ${status}`);
  }
  const headers: ResponseHeaders = {
    ...lowerCaseKeys(response.headers),
    ...ex.headers,
  };
  const body = response.body;
  if (body instanceof Readable) {
    headers["content-type"] ??= "application/octet-stream";
    ex.res.writeHead(status, headers as Record<string, string>);
    body.on("error", (error) => {
      logger.error({ err: error }, "response stream failed");
      ex.res.destroy();
    });
    body.pipe(ex.res);
    return;
  }
  let payload: string | Uint8Array | undefined;
  if (!hasPayload) payload = undefined;
  else if (typeof body === "string" || body instanceof Uint8Array) {
    payload = body;
    headers["content-type"] ??= "text/plain; charset=utf-8";
  } else {
    payload = JSON.stringify(body);
    headers["content-type"] = jsonContentType;
  }
  send(ex, status, headers, payload);
}

/**
 * Writes a whole response with its Content-Length. `headers` default to the exchange's own, copied:
 * they are shared by every response the exchange might write.
 */
export function send(
  ex: Exchange,
  status: number,
  headers: ResponseHeaders | undefined,
  payload: string | Uint8Array | undefined,
): void {
  const all = headers ?? { ...ex.headers };
  if (payload !== undefined) {
    all["content-length"] =
      typeof payload === "string" ? Buffer.byteLength(payload) : payload.byteLength;
  }
  ex.res.writeHead(status, all as Record<string, string>);
  ex.res.end(payload);
}

/** Header names are case-insensitive: lower-cased, the exchange's own override them reliably. */
function lowerCaseKeys(headers: GatewayResponse["headers"]): ResponseHeaders {
  const out: ResponseHeaders = {};
  if (headers) for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}
