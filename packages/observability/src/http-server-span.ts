import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from "@opentelemetry/api";
import type { TraceParent } from "@plexus/core";
import { methodLabel } from "./bounded-label.ts";
import { startAdoptedSpan } from "./adopted-span.ts";
import type { Tracing } from "./tracing.ts";

/** What an HTTP server knows of a request when it starts handling it. */
export interface HttpServerRequest {
  /** The request method as received. */
  readonly method: string;
  /** The path of the request target, without the query (`url.path`). */
  readonly path: string;
  /** The client's span: its `traceparent` header, parsed; `undefined` when it sent none. */
  readonly parent: TraceParent | undefined;
  /** The server's own span for this request, a child of `parent` (the request's context trace). */
  readonly trace: TraceParent;
}

/** The SERVER span of one HTTP request; see {@link startHttpServerSpan}. */
export interface HttpServerSpan {
  /** Runs `fn` with the span active, so the handler's outgoing calls become its children. */
  run<T>(fn: () => T): T;
  /**
   * Ends the span once the response is done. `route` is the matched route template (`undefined`
   * when no route matched); `status` the status sent, or `undefined` when the client left before
   * the response was complete. Names the span `<METHOD> <route>` (`<METHOD>` without a route).
   */
  end(route: string | undefined, status: number | undefined): void;
}

/** `http.request.method`: the standard methods as sent, anything else `_OTHER` (semconv). */
function semconvMethod(method: string): string {
  const known = methodLabel(method);
  return known === "OTHER" ? "_OTHER" : known;
}

class RecordedHttpServerSpan implements HttpServerSpan {
  private readonly span: Span;
  /** The span's name until a route is known: the method, or `HTTP` for a non-standard one. */
  private readonly name: string;

  constructor(span: Span, name: string) {
    this.span = span;
    this.name = name;
  }

  run<T>(fn: () => T): T {
    return context.with(trace.setSpan(ROOT_CONTEXT, this.span), fn);
  }

  end(route: string | undefined, status: number | undefined): void {
    const span = this.span;
    if (route !== undefined) {
      span.updateName(`${this.name} ${route}`);
      span.setAttribute("http.route", route);
    }
    if (status === undefined) {
      span.setAttribute("error.type", "canceled");
      span.setStatus({ code: SpanStatusCode.ERROR, message: "client closed request" });
    } else {
      span.setAttribute("http.response.status_code", status);
      // 4xx are the client's mistakes, not the server's failures (semconv).
      if (status >= 500) {
        span.setAttribute("error.type", String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
    }
    span.end();
  }
}

/**
 * Starts the SERVER span of one incoming HTTP request (the gateway's edge): recorded under the
 * request's own ids (`request.trace`, the child span the server derived from the client's
 * `traceparent`, which its downstream calls name as their parent) and parented on the client's
 * span, so a client's trace is continued, never replaced. Carries OpenTelemetry's HTTP server
 * attributes: `http.request.method` (and `http.request.method_original` for a non-standard
 * one), `url.path`, `url.scheme`, and at the end `http.route`, `http.response.status_code`;
 * a 5xx (or a client gone before the response) sets status ERROR and `error.type`.
 *
 * Call it only with tracing on (`tracing.enabled`): the caller checks, so a server with tracing
 * off allocates nothing per request.
 *
 * @example
 * const span = tracing.enabled ? startHttpServerSpan(tracing, { method, path, parent, trace }) : undefined;
 * await (span ? span.run(handle) : handle());
 * res.once("close", () => span?.end(routeTemplate, res.writableFinished ? res.statusCode : undefined));
 */
export function startHttpServerSpan(tracing: Tracing, request: HttpServerRequest): HttpServerSpan {
  const method = semconvMethod(request.method);
  const attributes: Attributes = {
    "http.request.method": method,
    "url.path": request.path,
    "url.scheme": "http",
  };
  if (method === "_OTHER") attributes["http.request.method_original"] = request.method;
  // Semconv names a span `{method} {http.route}`, with `HTTP` for a non-standard method.
  const name = method === "_OTHER" ? "HTTP" : method;
  const span = startAdoptedSpan(
    tracing,
    SpanKind.SERVER,
    name,
    attributes,
    request.trace,
    request.parent,
  );
  return new RecordedHttpServerSpan(span, name);
}
