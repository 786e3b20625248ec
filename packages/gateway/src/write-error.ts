import { PlexusError, httpStatusOf, toErrorBody, type Clock, type Logger } from "@plexus/core";
import { contentLengthOf, hasBody } from "./body.ts";
import type { Exchange, ResponseHeaders } from "./exchange.ts";
import { jsonContentType } from "./json-content-type.ts";
import { send } from "./write-response.ts";

export interface WriteErrorOptions {
  /** 5xx are logged at error with their cause, 4xx at debug. */
  readonly logger: Logger;
  /** Stamps the error body's timestamp. */
  readonly clock: Clock;
  /** `Retry-After` of a 429 or 503 that carries no hint of its own. */
  readonly retryAfterSeconds: number;
  /** The gateway's body limit: an unread body over it is not worth draining. */
  readonly maxBodyBytes: number;
}

/**
 * Answers a failed exchange in API.md's error shape: any thrown value normalised to a
 * PlexusError, its HTTP status, `Retry-After` on 429/503, `WWW-Authenticate` on 401, and
 * `Connection: close` when an unread body would otherwise have to be drained. Once the response
 * has started there is no status left to send: the connection is cut instead.
 */
export function writeError(ex: Exchange, thrown: unknown, options: WriteErrorOptions): void {
  const { logger } = options;
  const error = PlexusError.from(thrown);
  const status = httpStatusOf(error);
  if (ex.res.destroyed || ex.res.writableEnded) return;
  if (ex.res.headersSent) {
    logger.error(
      { err: error.cause ?? error, status },
      "request failed after the response started",
    );
    ex.res.destroy();
    return;
  }
  const log = {
    err: error.cause ?? error,
    status,
    code: error.reason ?? error.code,
    method: ex.req.method,
    route: ex.routeLabel,
  };
  if (status >= 500) logger.error(log, error.message);
  else logger.debug(log, error.message);

  const headers: ResponseHeaders = {
    ...ex.headers,
    "content-type": jsonContentType,
    "cache-control": "no-store",
  };
  if (status === 429 || status === 503) {
    const hintMs = Number(error.metadata["retryAfterMs"]);
    headers["retry-after"] =
      Number.isFinite(hintMs) && hintMs > 0 ? Math.ceil(hintMs / 1000) : options.retryAfterSeconds;
  }
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="api"';
  if (error.reason === "PAYLOAD_TOO_LARGE" || (ex.bodyRead && !ex.req.readableEnded)) {
    // The rest of the body is not worth reading: close the connection after this answer.
    headers["connection"] = "close";
  } else if (
    !ex.bodyRead &&
    hasBody(ex.req) &&
    !(contentLengthOf(ex.req)! <= options.maxBodyBytes)
  ) {
    headers["connection"] = "close";
  }
  const body = toErrorBody(error, {
    requestId: ex.requestId,
    path: ex.path,
    now: new Date(options.clock.now()),
  });
  send(ex, status, headers, JSON.stringify(body));
}
