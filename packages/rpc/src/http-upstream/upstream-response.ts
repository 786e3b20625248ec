import {
  Code,
  codeFromHttpStatus,
  parseRetryAfter,
  PlexusError,
  retryAfterKey,
  type HttpUpstreamResponse,
} from "@plexus/core";

/**
 * What a plain HTTP exchange ends as: an answer returned to the caller, or a PlexusError the
 * client pipeline (retry, breaker) and, in the end, the edge understand.
 */

/** 5xx, 408 Request Timeout and 429 Too Many Requests: the upstream is failing or pushing back. */
export function isHttpFailureStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * The PlexusError an HTTP client should throw for a failed response: the code core's one table
 * derives from the status (408/429/502/503/504 retryable, other 4xx never, 500 not either) and
 * the `Retry-After` header as `retryAfterMs`, so retries honour it.
 *
 * @example
 * if (res.statusCode >= 400) throw httpStatusError(res.statusCode, res.headers["retry-after"], Date.now());
 */
export function httpStatusError(
  status: number,
  retryAfter: string | string[] | null | undefined,
  nowMs: number,
): PlexusError {
  const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  const retryAfterMs = parseRetryAfter(header, nowMs);
  return new PlexusError(codeFromHttpStatus(status), `HTTP ${status}`, {
    metadata: retryAfterMs === undefined ? undefined : { [retryAfterKey]: String(retryAfterMs) },
  });
}

/**
 * A failure of the exchange itself. Messages are generic on purpose (they may reach a public
 * edge and must not name hosts); the cause keeps the detail.
 */
export function transportError(error: unknown): PlexusError {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "UND_ERR_RES_EXCEEDED_MAX_SIZE") {
    // Asking again would bring the same oversized answer: not retryable.
    return new PlexusError(Code.Internal, "upstream response too large", { cause: error });
  }
  // Refused, reset, closed, DNS: the upstream cannot be reached now.
  return new PlexusError(Code.Unavailable, "upstream unavailable", { cause: error });
}

export class UpstreamResponse implements HttpUpstreamResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;

  constructor(
    status: number,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    body: string,
  ) {
    this.status = status;
    this.headers = headers;
    this.body = body;
  }

  json(): unknown {
    if (this.body === "") return undefined;
    try {
      return JSON.parse(this.body) as unknown;
    } catch (cause) {
      throw new PlexusError(Code.Internal, "malformed JSON from an upstream", { cause });
    }
  }
}
