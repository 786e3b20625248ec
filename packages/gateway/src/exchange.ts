import type { IncomingMessage, ServerResponse } from "node:http";
import {
  Code,
  PlexusError,
  childTraceparent,
  formatTraceparent,
  isWellFormedCorrelationId,
  newCorrelationId,
  newRequestId,
  parseTraceparent,
  type CallContext,
} from "@plexus/core";
import {
  startHttpServerSpan,
  type HttpServerSpan,
  type Metrics,
  type Tracing,
} from "@plexus/observability";
import { stripInternalHeaders, type InternalHeaderPolicy } from "./internal-headers.ts";
import { requestTarget, type RequestTarget } from "./request-target.ts";
import type { ServerGroup } from "./server-group.ts";
import { singleHeader } from "./single-header.ts";

export type ResponseHeaders = Record<string, string | number | readonly string[]>;

/** Per-request state shared by the steps of one exchange. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  /** `undefined` when the request target is malformed (a 400). */
  readonly target: RequestTarget | undefined;
  /** The raw path echoed in error bodies; `/` when the target is malformed. */
  readonly path: string;
  /** Headers every response of this exchange carries, success or error. */
  readonly headers: ResponseHeaders;
  /** The request's context before routing: ids, trace, caller and signal, no deadline yet. */
  readonly context: CallContext;
  /** Aborts with the reason when the client disconnects or the deadline passes. */
  readonly controller: AbortController;
  /** The metrics label: the matched route's template. */
  routeLabel: string;
  /** Whether reading the body started, so an error can tell if the connection is reusable. */
  bodyRead: boolean;
  /** The deadline's timer (a `Clock` handle), cleared when the exchange ends. */
  deadlineTimer: unknown;
  /** The request's SERVER span, ended with the response; `undefined` with tracing off. */
  readonly span: HttpServerSpan | undefined;
}

export interface ExchangeOptions {
  /** The `caller` of every request's context: the gateway's name. */
  readonly caller: string;
  readonly headerPolicy: InternalHeaderPolicy;
  /** Where the request is recorded once its response is done (or abandoned). */
  readonly metrics: Metrics;
  /** Counts the request in flight, and says whether responses should close the connection. */
  readonly servers: ServerGroup;
  /** Records a SERVER span per request; `undefined` when tracing is off (nothing per request). */
  readonly tracing: Tracing | undefined;
}

const UNMATCHED_ROUTE = "unmatched";

/**
 * Starts an exchange: strips internal headers, assigns the request id, adopts a well-formed
 * correlation id and continues the caller's trace (its span, when tracing, is parented on the
 * client's), and arranges for the request to be recorded (metrics, span) and, if the client
 * leaves early, cancelled.
 */
export function openExchange(
  req: IncomingMessage,
  res: ServerResponse,
  options: ExchangeOptions,
): Exchange {
  const startedAt = performance.now();
  const servers = options.servers;
  servers.requestStarted();
  const requestId = newRequestId();
  stripInternalHeaders(req, options.headerPolicy);

  const incomingCorrelation = req.headers["x-correlation-id"];
  const correlationId =
    typeof incomingCorrelation === "string" && isWellFormedCorrelationId(incomingCorrelation)
      ? incomingCorrelation
      : newCorrelationId();
  const parentTrace = parseTraceparent(singleHeader(req.headers["traceparent"]));
  const trace = childTraceparent(parentTrace);

  const target = requestTarget(req.url ?? "");
  const path = target?.path ?? "/";
  const controller = new AbortController();
  const ex: Exchange = {
    req,
    res,
    requestId,
    target,
    path,
    headers: {
      "x-request-id": requestId,
      "x-correlation-id": correlationId,
      traceparent: formatTraceparent(trace),
      "x-content-type-options": "nosniff",
    },
    context: {
      correlationId,
      requestId,
      trace,
      caller: options.caller,
      signal: controller.signal,
    },
    controller,
    routeLabel: UNMATCHED_ROUTE,
    bodyRead: false,
    deadlineTimer: undefined,
    span:
      options.tracing === undefined
        ? undefined
        : startHttpServerSpan(options.tracing, {
            method: req.method ?? "GET",
            path,
            parent: parentTrace,
            trace,
          }),
  };
  if (servers.draining) ex.headers["connection"] = "close";

  res.once("close", () => {
    if (!res.writableFinished) {
      controller.abort(new PlexusError(Code.Canceled, "client closed request"));
    }
    const status = res.writableFinished ? res.statusCode : undefined;
    options.metrics.observeHttpRequest({
      method: req.method ?? "GET",
      route: ex.routeLabel,
      status: status ?? 499,
      durationMs: performance.now() - startedAt,
    });
    ex.span?.end(ex.routeLabel === UNMATCHED_ROUTE ? undefined : ex.routeLabel, status);
    servers.requestFinished();
  });
  return ex;
}
