/**
 * The port through which a service calls plain HTTP systems outside the toolkit (a card
 * provider, a legacy monolith). The service only names the upstream and sends requests; the
 * host decides what runs around each call (resilience, metrics, context propagation), exactly as
 * it does for RPC clients.
 */

/** One HTTP request to an upstream. */
export interface HttpUpstreamRequest {
  /** `GET`, `POST`, … GET, HEAD, OPTIONS, PUT and DELETE are idempotent (may be retried). */
  readonly method: string;
  /** Path (and query) under the upstream's base URL, starting with `/`. */
  readonly path: string;
  /** Extra headers. The propagation headers (correlation, trace, deadline, idempotency key) win. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /**
   * Sent as `Idempotency-Key`; it also makes a non-idempotent method (POST) retryable, since
   * the upstream then applies it at most once.
   */
  readonly idempotencyKey?: string;
  /**
   * Timeout of the whole request in ms, retries included. The effective deadline is the earlier
   * of it and the current context's. Default: the context's deadline only.
   */
  readonly timeoutMs?: number;
  /** Abandons the request (it fails `Canceled`, or with the signal's PlexusError reason). */
  readonly signal?: AbortSignal;
  /**
   * A stable label of what the request does (`charge`), naming it in metrics and selecting its
   * per-method policies. Default: the HTTP method. Never put ids in it: labels must stay few.
   */
  readonly operation?: string;
}

/**
 * An upstream's answer. Every status the upstream means as an answer (2xx, 3xx, 4xx such as 402,
 * 409 or 422) arrives here; failures (5xx, 408, 429 by default) are thrown as PlexusErrors.
 */
export interface HttpUpstreamResponse {
  readonly status: number;
  /** Response headers, lowercase names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as text (UTF-8). */
  readonly body: string;
  /**
   * The body parsed as JSON; `undefined` for an empty body.
   *
   * @throws PlexusError `Internal` when the body is not JSON.
   */
  json(): unknown;
}

/** Where an upstream lives. */
export interface HttpUpstreamTarget {
  /** Base URL (`http://host:port`, a path prefix is kept). */
  readonly url: string;
  /** Connections kept open to it (keep-alive); the implementation documents its default. */
  readonly connections?: number;
}

/** One external HTTP system, with its connection pool. */
export interface HttpUpstream extends AsyncDisposable {
  /** The name it was created with: the callee in policies and metrics (`card-provider`). */
  readonly name: string;
  /**
   * Sends one request (retried by the host's policy when that is safe).
   *
   * @throws PlexusError `Unavailable` when the upstream cannot be reached, `DeadlineExceeded`
   *   past the deadline, `Canceled` on abort, or the status's code for a failed response.
   */
  request(request: HttpUpstreamRequest): Promise<HttpUpstreamResponse>;
  /** Lets in-flight requests finish, then closes the connections. Idempotent. */
  close(): Promise<void>;
  /** Closes the connections now; in-flight requests fail `Unavailable`. */
  destroy(): Promise<void>;
}

/** Hands out HTTP upstreams; the host owns them and closes them when it stops. */
export interface HttpClientFactory {
  /**
   * An upstream named `name` (a stable, low-cardinality label such as `card-provider`: policies
   * are configured and metrics labelled by it).
   */
  upstream(name: string, target: HttpUpstreamTarget): HttpUpstream;
}
