import type { IncomingMessage, ServerResponse } from "node:http";
import { Code, PlexusError, runInContext, type CallContext } from "@plexus/core";
import { applyRateLimit, type ApplyRateLimitOptions } from "./apply-rate-limit.ts";
import { authenticate } from "./authenticate.ts";
import { checkBodyHeaders, contentLengthOf, readJsonBody } from "./body.ts";
import { isRateLimitedPath, type CompiledRoute } from "./compiled-route.ts";
import { deprecationHeaders } from "./deprecation.ts";
import { openExchange, type Exchange, type ExchangeOptions } from "./exchange.ts";
import { isPromise } from "./is-promise.ts";
import { unauthenticated, type Authenticator } from "./jwt-verifier.ts";
import { parseQuery } from "./query.ts";
import { raceDeadline } from "./race-deadline.ts";
import type { RequestTarget } from "./request-target.ts";
import type { GatewayRequest } from "./route.ts";
import type { MethodNotAllowed, NotFound, Router } from "./router.ts";
import { writeError, type WriteErrorOptions } from "./write-error.ts";
import { jsonContentType } from "./json-content-type.ts";
import { send, writeResponse } from "./write-response.ts";

/** The gateway's settings with every default applied (see `GatewayOptions`). */
export interface RequestListenerOptions
  extends ExchangeOptions, ApplyRateLimitOptions, WriteErrorOptions {
  readonly router: Router<CompiledRoute>;
  readonly authenticator: Authenticator | undefined;
  readonly rateLimitedPrefixes: readonly string[];
  readonly maxUrlLength: number;
  readonly maxQueryParams: number;
  readonly maxJsonDepth: number;
}

/**
 * The gateway's request listener: every request runs one pipeline — open the exchange, route,
 * arm the deadline, authenticate, rate-limit, parse query and body, run the handler in the
 * request's context, write the response — and any failure along it becomes an error response.
 * `options` is handed to each step as is, so a request allocates no settings of its own.
 */
export function createRequestListener(
  options: RequestListenerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, clock, router } = options;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ex = openExchange(req, res, options);
    try {
      await runInContext(ex.context, () => dispatchInSpan(ex));
    } catch (error) {
      // In the context, so the log lines of a failure carry the request's ids.
      runInContext(ex.context, () => writeError(ex, error, options));
    } finally {
      if (ex.deadlineTimer !== undefined) clock.clearTimeout(ex.deadlineTimer);
    }
  }

  /** With tracing, the request's span is active while it is handled: calls made are its children. */
  function dispatchInSpan(ex: Exchange): Promise<void> {
    const span = ex.span;
    return span === undefined ? dispatch(ex) : span.run(() => dispatch(ex));
  }

  async function dispatch(ex: Exchange): Promise<void> {
    const { req, target, controller } = ex;
    if (target === undefined) {
      throw new PlexusError(Code.InvalidArgument, "malformed request target", {
        reason: "BAD_REQUEST",
      });
    }
    if ((req.url ?? "").length > options.maxUrlLength) {
      throw new PlexusError(
        Code.InvalidArgument,
        `request URL exceeds ${options.maxUrlLength} characters`,
        { reason: "URI_TOO_LONG" },
      );
    }
    const method = (req.method ?? "GET").toUpperCase();
    const lookup = router.find(method, target.path);
    if (lookup.kind !== "found") return answerUnmatched(ex, method, target, lookup);

    const compiled = lookup.value;
    const def = compiled.def;
    ex.routeLabel = lookup.template;
    if (def.deprecation) {
      Object.assign(ex.headers, deprecationHeaders(def.deprecation, lookup.params));
    }

    const deadline = clock.now() + compiled.timeoutMs;
    // The error is made only when the timer fires: capturing a stack per request is costly.
    ex.deadlineTimer = clock.setTimeout(
      () => controller.abort(new PlexusError(Code.DeadlineExceeded, "request timed out")),
      compiled.timeoutMs,
    );

    // Awaited only when there is something to verify: each await is a trip through the
    // microtask queue on the hot path.
    const principal =
      compiled.auth === false ||
      (compiled.auth === "optional" && req.headers["authorization"] === undefined)
        ? undefined
        : await authenticate(req, compiled.auth, options.authenticator);
    if (compiled.rateLimit) {
      const pending = applyRateLimit(ex, principal, options, compiled.rateLimitPolicy);
      if (pending) await pending;
    }
    if (compiled.auth === true && principal === undefined) throw unauthenticated();

    const query = parseQuery(target.query, options.maxQueryParams);

    let body: unknown;
    if (compiled.body !== "none") {
      checkBodyHeaders(req, compiled.maxBodyBytes);
      ex.bodyRead = true;
      body = await readJsonBody(req, {
        maxBytes: compiled.maxBodyBytes,
        maxDepth: options.maxJsonDepth,
        mode: compiled.body,
        signal: controller.signal,
      });
    } else if (contentLengthOf(req)! > compiled.maxBodyBytes) {
      ex.bodyRead = true; // refused unread: the connection will be closed
      throw new PlexusError(Code.InvalidArgument, "request body too large", {
        reason: "PAYLOAD_TOO_LARGE",
      });
    }

    const context: CallContext = { ...ex.context, deadline, principal };
    const request: GatewayRequest = {
      method,
      path: target.path,
      url: target.path + (target.query === "" ? "" : `?${target.query}`),
      route: lookup.template,
      params: lookup.params,
      query,
      headers: req.headers,
      body,
      principal,
      clientIp: options.clientIp(req),
      context,
      signal: controller.signal,
      raw: req,
    };
    const result = runInContext(context, () => compiled.handler(request));
    const response = isPromise(result) ? await raceDeadline(result, controller.signal) : result;
    if (ex.res.destroyed) return;
    writeResponse(ex, response, logger);
  }

  /**
   * A path no route has (404), or has but not for this method (405 with `Allow`; OPTIONS gets a
   * 204 with `Allow`). Counted against the rate limit under the limited prefixes: probing unknown
   * paths must not be free.
   */
  async function answerUnmatched(
    ex: Exchange,
    method: string,
    target: RequestTarget,
    lookup: MethodNotAllowed<CompiledRoute> | NotFound,
  ): Promise<void> {
    if (lookup.kind === "method-not-allowed") {
      ex.routeLabel = lookup.template;
      const deprecated = lookup.values.find((v) => v.def.deprecation)?.def.deprecation;
      if (deprecated) Object.assign(ex.headers, deprecationHeaders(deprecated, lookup.params));
      ex.headers["allow"] = lookup.allow.join(", ");
    }
    if (isRateLimitedPath(target.path, options.rateLimitedPrefixes)) {
      await applyRateLimit(ex, undefined, options);
    }
    if (lookup.kind === "not-found") {
      throw new PlexusError(Code.NotFound, "no such resource", { reason: "NOT_FOUND" });
    }
    if (method === "OPTIONS") {
      send(ex, 204, undefined, undefined);
      return;
    }
    throw new PlexusError(Code.Unimplemented, `method ${method} not allowed`, {
      reason: "METHOD_NOT_ALLOWED",
    });
  }

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      // handle() answers every error itself; reaching here is a bug in the gateway.
      logger.error({ err: error }, "gateway failed to answer a request");
      if (!res.headersSent) res.writeHead(500, { "content-type": jsonContentType });
      res.destroy();
    });
  };
}
