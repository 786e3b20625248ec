import {
  childTraceparent,
  Code,
  codeToConnectName,
  currentContext,
  earliestDeadline,
  formatTraceparent,
  headerIdempotencyKey,
  newCorrelationId,
  PlexusError,
  systemClock,
  type Clock,
  type HttpUpstream,
  type HttpUpstreamRequest,
  type HttpUpstreamResponse,
  type TraceParent,
} from "@plexus/core";
import { neverAborted, type ClientResilience, type PolicyContext } from "@plexus/resilience";
import { Pool } from "undici";
import { abortReason, deadlineExceeded } from "../abort.ts";
import { CallSignal } from "../call-signal.ts";
import { headerCorrelationId, headerTraceparent } from "../propagation.ts";
import {
  httpStatusError,
  isHttpFailureStatus,
  transportError,
  UpstreamResponse,
} from "./upstream-response.ts";

/** One finished request, for metrics (the host feeds `metrics.observeRpcClientCall`). */
export interface HttpCallObservation {
  /** The upstream's name. */
  readonly callee: string;
  /** The request's `operation`, else its HTTP method. */
  readonly method: string;
  /** `ok` for every answer returned (4xx included), else the thrown error's code (`unavailable`). */
  readonly code: string;
  /** The whole request, retries and backoff included. */
  readonly durationMs: number;
}

/** One request as {@link HttpUpstreamOptions.around} sees it. */
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
  /** The status of the latest response, once one arrived (failure statuses included). */
  readonly status: number | undefined;
}

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
  /** Called once per request when it ends (outermost: retries and rejections count once). */
  onCall?: (observation: HttpCallObservation) => void;
  /**
   * Runs around each request, retries included, inside `onCall`: `send` sends it through the
   * pipeline. The host fills it with a CLIENT span (`@plexus/observability`'s `withClientSpan`,
   * under `call.trace`) — this package knows no tracer — so the span covers every attempt and
   * the resilience hooks find it active. Return what `send` returns (or throw what it throws).
   * Default: none.
   */
  around?: (
    call: HttpUpstreamCall,
    send: () => Promise<HttpUpstreamResponse>,
  ) => Promise<HttpUpstreamResponse>;
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

/** What stays the same across the attempts of one request. */
interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array | undefined;
  /** What `around` sees, its status kept up to date; `undefined` without `around`. */
  readonly call: { -readonly [K in keyof HttpUpstreamCall]: HttpUpstreamCall[K] } | undefined;
}

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
  const { name, resilience, onCall, around } = options;
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

  /** One attempt, bounded by its own deadline (a per-try timeout tightens it). */
  async function attempt(
    exchange: Exchange,
    signal: AbortSignal,
    deadline: number | undefined,
  ): Promise<HttpUpstreamResponse> {
    if (signal.aborted) throw abortReason(signal);
    let headers = exchange.headers;
    let bound: CallSignal | undefined;
    if (deadline !== undefined) {
      const now = clock.now();
      if (deadline <= now) throw deadlineExceeded();
      headers = { ...headers };
      // Floored: a child never outlives its parent, so the upstream may give up early, never late.
      headers[headerTimeoutMs] = String(Math.floor(deadline - now));
      // Enforced here too: without a per-try timeout nothing else cuts an attempt at its deadline.
      bound = new CallSignal(clock, deadline - now, signal === neverAborted ? [] : [signal]);
    }
    const effective = bound?.controller.signal ?? signal;
    try {
      const response = await pool.request({
        method: exchange.method,
        path: exchange.path,
        headers,
        body: exchange.body ?? null,
        signal: effective === neverAborted ? undefined : effective,
      });
      const body = await response.body.text();
      if (exchange.call !== undefined) exchange.call.status = response.statusCode;
      if (isFailure(response.statusCode)) {
        throw httpStatusError(response.statusCode, response.headers["retry-after"], clock.now());
      }
      return new UpstreamResponse(response.statusCode, response.headers, body);
    } catch (error) {
      if (effective.aborted) throw abortReason(effective);
      if (error instanceof PlexusError) throw error;
      throw transportError(error);
    } finally {
      bound?.release();
    }
  }

  async function send(request: HttpUpstreamRequest): Promise<HttpUpstreamResponse> {
    if (closed) throw new PlexusError(Code.Unavailable, "upstream closed");
    const now = clock.now();
    const parent = currentContext();
    const deadline = earliestDeadline(
      parent?.deadline,
      request.timeoutMs === undefined ? undefined : now + request.timeoutMs,
    );
    if (deadline !== undefined && deadline <= now) throw deadlineExceeded();
    const sources = [request.signal, parent?.signal].filter(
      (s, i, all): s is AbortSignal => s !== undefined && all.indexOf(s) === i,
    );
    for (const source of sources) if (source.aborted) throw abortReason(source);
    const linked = sources.length > 1 ? new CallSignal(clock, undefined, sources) : undefined;
    const signal = linked?.controller.signal ?? sources[0] ?? neverAborted;

    const method = request.method.toUpperCase();
    const headers: Record<string, string> = { ...request.headers };
    headers[headerCorrelationId] = parent?.correlationId ?? newCorrelationId();
    const trace = childTraceparent(parent?.trace);
    headers[headerTraceparent] = formatTraceparent(trace);
    if (request.idempotencyKey !== undefined)
      headers[headerIdempotencyKey] = request.idempotencyKey;
    const path = prefix + request.path;
    const exchange: Exchange = {
      method,
      path,
      headers,
      body: request.body,
      call:
        around === undefined
          ? undefined
          : {
              upstream: name,
              method,
              operation: request.operation,
              url: url.origin + path.split("?", 1)[0],
              host: url.hostname,
              port,
              trace,
              status: undefined,
            },
    };
    function sendThroughPipeline(): Promise<HttpUpstreamResponse> {
      if (resilience === undefined) return attempt(exchange, signal, deadline);
      return resilience.execute(
        {
          callee: name,
          method: request.operation ?? method,
          idempotent: idempotentMethods.has(method),
          idempotencyKey: request.idempotencyKey,
        },
        (attemptSignal: AbortSignal, context: PolicyContext) =>
          attempt(exchange, attemptSignal, context.deadline),
        deadline === undefined ? { signal } : { signal, deadline },
      );
    }
    try {
      return await (around === undefined || exchange.call === undefined
        ? sendThroughPipeline()
        : around(exchange.call, sendThroughPipeline));
    } finally {
      linked?.release();
    }
  }

  async function request(request: HttpUpstreamRequest): Promise<HttpUpstreamResponse> {
    if (onCall === undefined) return send(request);
    const started = performance.now();
    let code = "ok";
    try {
      return await send(request);
    } catch (error) {
      code = codeToConnectName(PlexusError.from(error).code);
      throw error;
    } finally {
      onCall({
        callee: name,
        method: request.operation ?? request.method.toUpperCase(),
        code,
        durationMs: performance.now() - started,
      });
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
