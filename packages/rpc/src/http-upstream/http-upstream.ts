import {
  CallScope,
  chainInterceptors,
  Code,
  currentContext,
  formatTraceparent,
  headerIdempotencyKey,
  PlexusError,
  systemClock,
  type Clock,
  type HttpUpstream,
  type HttpUpstreamRequest,
  type HttpUpstreamResponse,
  type Interceptor,
  type TraceParent,
} from "@plexus/core";
import { neverAborted, type ClientResilience, type PolicyContext } from "@plexus/resilience";
import { Pool } from "undici";
import { abortReason, deadlineExceeded } from "../abort.ts";
import { headerCorrelationId, headerTraceparent } from "../propagation.ts";
import {
  httpStatusError,
  isHttpFailureStatus,
  transportError,
  UpstreamResponse,
} from "./upstream-response.ts";

/**
 * One request to an upstream, retries included: the call of the HTTP upstream boundary
 * ({@link HttpUpstreamInterceptor}).
 */
export interface HttpUpstreamCall {
  /** The upstream's name (`card-provider`). */
  readonly upstream: string;
  /** The HTTP method, upper case. */
  readonly method: string;
  /** The request's `operation`, if it named one. */
  readonly operation: string | undefined;
  /** The URL requested, without its query (which may carry what traces must not). */
  readonly url: string;
  /** The upstream's host name and port, as in its base URL. */
  readonly host: string;
  readonly port: number;
  /**
   * The span the request is sent as: every attempt's `traceparent` names exactly these ids, so
   * a span recorded under them is the parent of whatever the upstream records.
   */
  readonly trace: TraceParent;
  /**
   * The status of the latest response, once one arrived (failure statuses included): the
   * pipeline keeps it up to date on the call it was handed, so an interceptor reads it even
   * when the request ends in a thrown failure status.
   */
  status: number | undefined;
  /** The path sent (base URL prefix and query included). */
  readonly path: string;
  /** The headers every attempt sends, propagation headers included (the deadline's is per attempt). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array | undefined;
  readonly idempotencyKey: string | undefined;
  /**
   * Aborts the request: the caller's signal, the current context's, and the deadline (the
   * request's call scope). An interceptor that narrows `deadline` narrows this signal too.
   */
  readonly signal: AbortSignal;
  /** The request's deadline (epoch ms): the earlier of the context's and its `timeoutMs`. */
  readonly deadline: number | undefined;
}

/**
 * Runs around each request to an upstream, retries included (DESIGN.md convention 7; the host's
 * client metrics and CLIENT span): the innermost handler sends it through the resilience
 * pipeline and resolves with the answer, or rejects with the failure.
 */
export type HttpUpstreamInterceptor = Interceptor<HttpUpstreamCall, HttpUpstreamResponse>;

export interface HttpUpstreamOptions {
  /**
   * The upstream's name: the callee its policies are configured under and metrics are labelled
   * with (`card-provider`). Keep it stable and low-cardinality.
   */
  name: string;
  /** Base URL (`http://host:port`); a path prefix is kept and prepended to request paths. */
  url: string;
  /**
   * Connections kept open to the upstream (keep-alive). Default 16: a request holds its
   * connection until answered, so this bounds how many slow requests one process runs against
   * an external system at once — a slow upstream must not make us open sockets without limit.
   */
  connections?: number;
  /**
   * The pipeline every request runs through (`execute` with the upstream's name as callee):
   * breaker, retry with budget, bulkhead, per-try timeout. Default: none — one attempt, bounded
   * only by the request's own deadline.
   */
  resilience?: ClientResilience;
  /**
   * Which statuses are failures, thrown as PlexusErrors (with their `Retry-After` pushback) so
   * retry and breaker see them; every other status is an answer returned to the caller. Default:
   * 5xx, 408 and 429 — what core's `codeFromHttpStatus` maps to a callee failure or a retryable
   * code. Override it for an upstream whose statuses mean otherwise.
   */
  isFailure?: (status: number) => boolean;
  /**
   * Run around each request, retries included, the first listed outermost, composed once. The
   * host's: client metrics (`httpUpstreamMetrics`), then a CLIENT span (`httpClientSpans`) of
   * `@plexus/observability` — this package knows no tracer — so the span covers every attempt
   * and the resilience hooks find it active. Default: none.
   */
  interceptors?: readonly HttpUpstreamInterceptor[];
  /** Time source of deadlines and `Retry-After` dates. Default `systemClock`. */
  clock?: Clock;
}

/**
 * The deadline of a plain HTTP request: milliseconds remaining (never an absolute time, which
 * clock skew between hosts would corrupt), like Envoy's `x-envoy-expected-rq-timeout-ms`.
 * Internal: the gateway strips `x-plexus-*` headers coming from outside.
 */
export const headerTimeoutMs = "x-plexus-timeout-ms";

/** RFC 9110 §9.2.2: methods whose repetition has the effect of one request. */
const idempotentMethods = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * An external HTTP system behind one undici Pool (keep-alive), with every request in the
 * toolkit's client pipeline: the current context's correlation id and a child `traceparent`
 * go along (the internal principal and caller headers do not: they mean something only inside
 * the toolkit), the attempt's remaining time travels as `x-plexus-timeout-ms` (the earliest of
 * the context's deadline, `timeoutMs` and the per-try timeout), and the idempotency key as
 * `Idempotency-Key`. With `resilience`, each request runs through `execute` under the
 * upstream's name: GET/HEAD/OPTIONS/PUT/DELETE and keyed requests may be retried, a keyless POST
 * never is. Failure statuses (see `isFailure`) are thrown with their `Retry-After` pushback; a
 * refused or reset connection is `Unavailable`, the deadline `DeadlineExceeded`, the caller's
 * abort `Canceled` — and an abandoned attempt's request is aborted, so the upstream sees it go.
 *
 * @example
 * const provider = createHttpUpstream({ name: "card-provider", url, resilience });
 * const answer = await provider.request({
 *   method: "POST", path: "/v1/charges", operation: "charge", idempotencyKey: key,
 *   headers: { "content-type": "application/json" }, body: JSON.stringify(charge), timeoutMs: 2_000,
 * });
 * if (answer.status === 402) return declined(answer.json());
 */
export function createHttpUpstream(options: HttpUpstreamOptions): HttpUpstream {
  const { name, resilience } = options;
  const clock = options.clock ?? systemClock;
  const isFailure = options.isFailure ?? isHttpFailureStatus;
  const url = new URL(options.url);
  const prefix = url.pathname.replace(/\/+$/, "");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const pool = new Pool(url.origin, {
    connections: options.connections ?? 16,
    // Below Node servers' 5 s, so the client, not the server, closes an idle connection.
    keepAliveTimeout: 4_000,
    connectTimeout: 5_000,
    maxResponseSize: 4 * 1024 * 1024,
    // Deadlines and per-try timeouts bound requests; undici's 300 s ones would mask a missing one.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  let closed = false;
  let closing: Promise<void> | undefined;
  let destroying: Promise<void> | undefined;

  /**
   * One attempt. Its signal enforces its deadline (the request's call scope, or the per-try
   * timeout's, both on shared timer slots): the attempt arms no timer of its own.
   */
  async function attempt(
    call: HttpUpstreamCall,
    signal: AbortSignal,
    deadline: number | undefined,
  ): Promise<HttpUpstreamResponse> {
    if (signal.aborted) throw abortReason(signal);
    let headers = call.headers;
    if (deadline !== undefined) {
      const now = clock.now();
      if (deadline <= now) throw deadlineExceeded();
      // Floored: a child never outlives its parent, so the upstream may give up early, never late.
      headers = { ...headers, [headerTimeoutMs]: String(Math.floor(deadline - now)) };
    }
    try {
      const response = await pool.request({
        method: call.method,
        path: call.path,
        headers,
        body: call.body ?? null,
        signal: signal === neverAborted ? undefined : signal,
      });
      const body = await response.body.text();
      call.status = response.statusCode;
      if (isFailure(response.statusCode)) {
        throw httpStatusError(response.statusCode, response.headers["retry-after"], clock.now());
      }
      return new UpstreamResponse(response.statusCode, response.headers, body);
    } catch (error) {
      if (signal.aborted) throw abortReason(signal);
      if (error instanceof PlexusError) throw error;
      throw transportError(error);
    }
  }

  /** The innermost handler: the request through the pipeline, unless refused before it starts. */
  async function send(call: HttpUpstreamCall): Promise<HttpUpstreamResponse> {
    if (closed) throw new PlexusError(Code.Unavailable, "upstream closed");
    const { deadline, signal } = call;
    if (deadline !== undefined && deadline <= clock.now()) throw deadlineExceeded();
    if (signal.aborted) throw abortReason(signal);
    if (resilience === undefined) return attempt(call, signal, deadline);
    return resilience.execute(
      {
        callee: name,
        method: call.operation ?? call.method,
        idempotent: idempotentMethods.has(call.method),
        idempotencyKey: call.idempotencyKey,
      },
      (attemptSignal: AbortSignal, context: PolicyContext) =>
        attempt(call, attemptSignal, context.deadline),
      deadline === undefined ? { signal } : { signal, deadline },
    );
  }
  const chain = chainInterceptors(options.interceptors ?? [], send);

  async function request(request: HttpUpstreamRequest): Promise<HttpUpstreamResponse> {
    // The request's call scope (core's derivation: earliest deadline, linked cancellation, child
    // span), built unchecked: `send` refuses a late or aborted request inside the chain, so
    // interceptors (metrics) see the refusal as they see any failed request.
    const scope = new CallScope(currentContext(), {
      timeoutMs: request.timeoutMs,
      signal: request.signal,
      clock,
    });

    const method = request.method.toUpperCase();
    const headers: Record<string, string> = { ...request.headers };
    headers[headerCorrelationId] = scope.correlationId;
    headers[headerTraceparent] = formatTraceparent(scope.trace);
    if (request.idempotencyKey !== undefined)
      headers[headerIdempotencyKey] = request.idempotencyKey;
    const path = prefix + request.path;
    try {
      return await chain({
        upstream: name,
        method,
        operation: request.operation,
        url: url.origin + path.split("?", 1)[0],
        host: url.hostname,
        port,
        trace: scope.trace,
        status: undefined,
        path,
        headers,
        body: request.body,
        idempotencyKey: request.idempotencyKey,
        signal: scope.signal,
        deadline: scope.deadline,
      });
    } finally {
      scope.release();
    }
  }

  function close(): Promise<void> {
    closed = true;
    return destroying ?? (closing ??= pool.close());
  }

  function destroy(): Promise<void> {
    closed = true;
    return (destroying ??= pool.destroy());
  }

  return { name, request, close, destroy, [Symbol.asyncDispose]: close };
}
