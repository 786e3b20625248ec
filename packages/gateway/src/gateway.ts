import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Readable } from "node:stream";
import {
  Code,
  PlexusError,
  childTraceparent,
  createLogger,
  formatTraceparent,
  httpStatusOf,
  isWellFormedCorrelationId,
  newCorrelationId,
  newRequestId,
  parseTraceparent,
  runInContext,
  systemClock,
  toErrorBody,
  type CallContext,
  type Clock,
  type HealthRegistry,
  type Logger,
  type Principal,
} from "@plexus/core";
import { createMetrics, type Metrics } from "@plexus/observability";
import { checkBodyHeaders, contentLengthOf, hasBody, readJsonBody, type BodyMode } from "./body.ts";
import { deprecationHeaders } from "./deprecation.ts";
import { createInternalHeaderPolicy, stripInternalHeaders } from "./internal-headers.ts";
import { unauthenticated, type Authenticator } from "./jwt-verifier.ts";
import { parseQuery } from "./query.ts";
import type { RateLimitDecision } from "./rate-limit-store.ts";
import { createRateLimiter, type RateLimiter, type RateLimiterOptions } from "./rate-limiter.ts";
import { runReadinessChecks, type ReadinessCheck } from "./readiness.ts";
import type { GatewayRequest, GatewayResponse, RouteDefinition } from "./route.ts";
import { createRouter, type RouteLookup } from "./router.ts";

export interface GatewayOptions {
  /** Name in logs and the `caller` of downstream calls. Default `gateway`. */
  name?: string;
  /** Logger. Default `createLogger({ name })`. 5xx are logged at error with their cause, 4xx at debug. */
  logger?: Logger;
  /** Metrics every request is recorded in, by route template. Default a fresh `createMetrics()`. */
  metrics?: Metrics;
  /** Where `GET /metrics` is served; `false` to not serve it. Default `/metrics`. */
  metricsPath?: string | false;
  /** Verifies bearer tokens (e.g. `createJwtVerifier`). Default none: `auth: true` routes answer 401. */
  authenticator?: Authenticator;
  /**
   * The rate limiter, its options, or `false` to turn limiting off. Default
   * `createRateLimiter()`: `PLEXUS_RATE_LIMIT` (else 600) requests per minute per principal or IP.
   */
  rateLimit?: RateLimiter | RateLimiterOptions | false;
  /** Path prefixes whose requests (found or not) are rate-limited. Default `["/api/"]` (API.md). */
  rateLimitedPrefixes?: readonly string[];
  /**
   * The host's health registry. When given, `GET /health/live` runs its liveness checks and
   * `GET /health/ready` its readiness checks (together with `readiness`). Default none.
   */
  health?: HealthRegistry;
  /** Checks run by `GET /health/ready`, by name (e.g. one per service routed to). Default none. */
  readiness?: Readonly<Record<string, ReadinessCheck>>;
  /** Timeout of each readiness check. Default 2 000 ms, below typical probe timeouts. */
  readinessTimeoutMs?: number;
  /** A route's time budget when it sets none. Default 10 000 ms. */
  defaultTimeoutMs?: number;
  /** Largest request body. Default 1 MiB (API.md). */
  maxBodyBytes?: number;
  /**
   * Deepest nesting of arrays/objects in a JSON body. Default 64: far beyond any real document,
   * well below what recursive code downstream (validation, serialisation) survives.
   */
  maxJsonDepth?: number;
  /** Longest request target (path + query). Default 8 192 characters; longer is a 400. */
  maxUrlLength?: number;
  /** Most query parameters. Default 100; more is a 400. */
  maxQueryParams?: number;
  /** `Retry-After` (seconds) of a 503 or 429 that carries no hint of its own. Default 1. */
  retryAfterSeconds?: number;
  /**
   * The client address rate limits are keyed on. Default the socket's remote address:
   * `X-Forwarded-For` is client-controlled and only trustworthy behind a known proxy, which is a
   * deployment decision — pass a function that reads it then.
   */
  clientIp?: (req: IncomingMessage) => string;
  /** Header names and prefixes to strip in addition to the built-in internal/identity ones. */
  internalHeaders?: { names?: readonly string[]; prefixes?: readonly string[] };
  /** How long `close()` waits for in-flight requests. Default 10 000 ms. */
  drainTimeoutMs?: number;
  /** Time source for deadlines and error timestamps. Default the system clock. */
  clock?: Clock;
}

export interface ListenOptions {
  /** Default 0 (an ephemeral port; read it from the result). */
  port?: number;
  /** Default all interfaces. */
  host?: string;
  /** Passed to `http.createServer` (e.g. `maxHeaderSize`). */
  server?: ServerOptions;
}

export interface Listening {
  readonly server: Server;
  readonly port: number;
  /** `http://127.0.0.1:<port>` or `http://<host>:<port>`. */
  readonly url: string;
}

/** The public REST edge. */
export interface Gateway extends AsyncDisposable {
  /** Adds a route. Throws on a duplicate method + path or a malformed template. */
  route(definition: RouteDefinition): void;
  /** The request listener, for a server you create yourself (also wire `handleClientError`). */
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** A `clientError` handler answering protocol errors (e.g. headers too large) in API.md's shape. */
  readonly handleClientError: (error: Error & { code?: string }, socket: Socket) => void;
  /** Creates a node:http server with sensible timeouts and starts listening. */
  listen(options?: ListenOptions): Promise<Listening>;
  readonly metrics: Metrics;
  /**
   * Graceful stop: readiness turns 503, servers made by `listen` stop accepting, in-flight
   * requests finish (up to `drainTimeoutMs`), then remaining connections are closed.
   */
  close(): Promise<void>;
  /** Forced stop: closes every connection of the servers made by `listen` at once. */
  destroy(): void;
}

interface CompiledRoute {
  readonly def: RouteDefinition;
  readonly auth: boolean | "optional";
  readonly body: BodyMode;
  readonly maxBodyBytes: number;
  readonly timeoutMs: number;
  readonly rateLimit: boolean;
}

/** Per-request state shared by the steps of one exchange. */
interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly path: string;
  /** Headers every response of this exchange carries, success or error. */
  readonly headers: Record<string, string | number | readonly string[]>;
  routeLabel: string;
  bodyRead: boolean;
}

const UNMATCHED_ROUTE = "unmatched";
const jsonContentType = "application/json; charset=utf-8";

/**
 * Creates the gateway: a node:http request listener with a small router, the API.md conventions
 * applied to every response, and the built-in `/health/live`, `/health/ready` and `/metrics`.
 *
 * @example
 * const gateway = createGateway({ authenticator: createJwtVerifier({ ... }), readiness: { orders: pingOrders } });
 * gateway.route({
 *   method: "GET",
 *   path: "/api/v1/products/:id",
 *   handler: async (req) => ({ body: { data: await catalog.getProduct({ id: req.params.id }) } }),
 * });
 * const { url } = await gateway.listen({ port: 8080 });
 */
export function createGateway(options: GatewayOptions = {}): Gateway {
  const name = options.name ?? "gateway";
  const logger = options.logger ?? createLogger({ name });
  const metrics = options.metrics ?? createMetrics();
  const clock = options.clock ?? systemClock;
  const authenticator = options.authenticator;
  const rateLimiter: RateLimiter | undefined =
    options.rateLimit === false
      ? undefined
      : isRateLimiter(options.rateLimit)
        ? options.rateLimit
        : createRateLimiter(options.rateLimit);
  const rateLimitedPrefixes = options.rateLimitedPrefixes ?? ["/api/"];
  const health = options.health;
  const readinessChecks = options.readiness ?? {};
  const readinessTimeoutMs = options.readinessTimeoutMs ?? 2_000;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const maxJsonDepth = options.maxJsonDepth ?? 64;
  const maxUrlLength = options.maxUrlLength ?? 8_192;
  const maxQueryParams = options.maxQueryParams ?? 100;
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  const clientIpOf = options.clientIp ?? ((req) => req.socket.remoteAddress ?? "unknown");
  const headerPolicy = createInternalHeaderPolicy(
    options.internalHeaders?.names,
    options.internalHeaders?.prefixes,
  );
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;

  const router = createRouter<CompiledRoute>();
  const servers = new Set<Server>();
  let inflight = 0;
  let draining = false;
  let drained: (() => void) | undefined;

  function route(def: RouteDefinition): void {
    const method = def.method.toUpperCase();
    const takesBody = method === "POST" || method === "PUT" || method === "PATCH";
    router.add(method, def.path, {
      def,
      auth: def.auth ?? (authenticator ? "optional" : false),
      body: def.body ?? (takesBody ? "object" : "none"),
      maxBodyBytes: def.maxBodyBytes ?? maxBodyBytes,
      timeoutMs: def.timeoutMs ?? defaultTimeoutMs,
      rateLimit: def.rateLimit ?? rateLimitedPrefixes.some((p) => def.path.startsWith(p)),
    });
  }

  // Built-in endpoints: plain routes, so they get ids, metrics and error handling like any other.
  route({
    method: "GET",
    path: "/health/live",
    auth: false,
    rateLimit: false,
    handler: async () => {
      const live = health ? await health.checkLive() : undefined;
      if (live === undefined || live.ok) return { body: { status: "ok" } };
      return { status: 503, body: { status: "unhealthy", checks: live.checks } };
    },
  });
  route({
    method: "GET",
    path: "/health/ready",
    auth: false,
    rateLimit: false,
    handler: async () => {
      const [own, host] = await Promise.all([
        runReadinessChecks(readinessChecks, readinessTimeoutMs),
        health?.checkReady(),
      ]);
      const checks = { ...host?.checks, ...own.checks };
      if (own.ready && (host?.ok ?? true) && !draining) return { body: { status: "ok", checks } };
      return {
        status: 503,
        headers: { "retry-after": String(retryAfterSeconds) },
        body: { status: "degraded", checks },
      };
    },
  });
  const metricsPath = options.metricsPath ?? "/metrics";
  if (metricsPath !== false) {
    route({
      method: "GET",
      path: metricsPath,
      auth: false,
      rateLimit: false,
      handler: async () => {
        const { contentType, body } = await metrics.render();
        return { headers: { "content-type": contentType }, body };
      },
    });
  }

  function listener(req: IncomingMessage, res: ServerResponse): void {
    handle(req, res).catch((error: unknown) => {
      // handle() answers every error itself; reaching here is a bug in the gateway.
      logger.error({ err: error }, "gateway failed to answer a request");
      if (!res.headersSent) res.writeHead(500, { "content-type": jsonContentType });
      res.destroy();
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = performance.now();
    inflight++;
    const requestId = newRequestId();
    stripInternalHeaders(req, headerPolicy);

    const incomingCorrelation = req.headers["x-correlation-id"];
    const correlationId =
      typeof incomingCorrelation === "string" && isWellFormedCorrelationId(incomingCorrelation)
        ? incomingCorrelation
        : newCorrelationId();
    const parentTrace = parseTraceparent(single(req.headers["traceparent"]));
    const trace = childTraceparent(parentTrace);

    const target = requestTarget(req.url ?? "");
    const ex: Exchange = {
      req,
      res,
      requestId,
      path: target?.path ?? "/",
      headers: {
        "x-request-id": requestId,
        "x-correlation-id": correlationId,
        traceparent: formatTraceparent(trace),
        "x-content-type-options": "nosniff",
      },
      routeLabel: UNMATCHED_ROUTE,
      bodyRead: false,
    };
    if (draining) ex.headers["connection"] = "close";

    const controller = new AbortController();
    let deadlineTimer: unknown;
    res.once("close", () => {
      if (!res.writableFinished) {
        controller.abort(new PlexusError(Code.Canceled, "client closed request"));
      }
      inflight--;
      metrics.observeHttpRequest({
        method: req.method ?? "GET",
        route: ex.routeLabel,
        status: res.writableFinished ? res.statusCode : 499,
        durationMs: performance.now() - startedAt,
      });
      if (draining && inflight === 0) drained?.();
    });

    const baseContext: CallContext = {
      correlationId,
      requestId,
      trace,
      caller: name,
      signal: controller.signal,
    };

    try {
      await runInContext(baseContext, async () => {
        if (target === undefined) throw badRequest("malformed request target");
        if ((req.url ?? "").length > maxUrlLength) {
          throw new PlexusError(
            Code.InvalidArgument,
            `request URL exceeds ${maxUrlLength} characters`,
            {
              reason: "URI_TOO_LONG",
            },
          );
        }
        const method = (req.method ?? "GET").toUpperCase();
        const lookup: RouteLookup<CompiledRoute> = router.find(method, target.path);
        const limited =
          lookup.kind === "found"
            ? lookup.value.rateLimit
            : rateLimitedPrefixes.some((p) => target.path.startsWith(p));

        if (lookup.kind !== "found") {
          if (lookup.kind === "method-not-allowed") {
            ex.routeLabel = lookup.template;
            const deprecated = lookup.values.find((v) => v.def.deprecation)?.def.deprecation;
            if (deprecated)
              Object.assign(ex.headers, deprecationHeaders(deprecated, lookup.params));
            ex.headers["allow"] = lookup.allow.join(", ");
          }
          if (limited) await applyRateLimit(ex, undefined);
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

        const compiled = lookup.value;
        const def = compiled.def;
        ex.routeLabel = lookup.template;
        if (def.deprecation) {
          Object.assign(ex.headers, deprecationHeaders(def.deprecation, lookup.params));
        }

        const deadline = clock.now() + compiled.timeoutMs;
        // The error is made only when the timer fires: capturing a stack per request is costly.
        deadlineTimer = clock.setTimeout(
          () => controller.abort(new PlexusError(Code.DeadlineExceeded, "request timed out")),
          compiled.timeoutMs,
        );

        // Awaited only when there is something to verify: each await is a trip through the
        // microtask queue on the hot path.
        const principal =
          compiled.auth === false ||
          (compiled.auth === "optional" && req.headers["authorization"] === undefined)
            ? undefined
            : await authenticate(ex, compiled);
        if (compiled.rateLimit) {
          const pending = applyRateLimit(ex, principal);
          if (pending) await pending;
        }
        if (compiled.auth === true && principal === undefined) throw unauthenticated();

        const query = parseQuery(target.query, maxQueryParams);

        let body: unknown;
        if (compiled.body !== "none") {
          checkBodyHeaders(req, compiled.maxBodyBytes);
          ex.bodyRead = true;
          body = await readJsonBody(req, {
            maxBytes: compiled.maxBodyBytes,
            maxDepth: maxJsonDepth,
            mode: compiled.body,
            signal: controller.signal,
          });
        } else if (contentLengthOf(req)! > compiled.maxBodyBytes) {
          ex.bodyRead = true; // refused unread: the connection will be closed
          throw new PlexusError(Code.InvalidArgument, "request body too large", {
            reason: "PAYLOAD_TOO_LARGE",
          });
        }

        const context: CallContext = { ...baseContext, deadline, principal };
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
          clientIp: clientIpOf(req),
          context,
          signal: controller.signal,
          raw: req,
        };
        const result = runInContext(context, () => def.handler(request));
        const response = isPromise(result) ? await raceDeadline(result, controller.signal) : result;
        if (res.destroyed) return;
        sendResponse(ex, response);
      });
    } catch (error) {
      // In the context, so the log lines of a failure carry the request's ids.
      runInContext(baseContext, () => sendError(ex, error));
    } finally {
      if (deadlineTimer !== undefined) clock.clearTimeout(deadlineTimer);
    }
  }

  async function authenticate(
    ex: Exchange,
    compiled: CompiledRoute,
  ): Promise<Principal | undefined> {
    if (compiled.auth === false) return undefined;
    const header = single(ex.req.headers["authorization"]);
    if (authenticator === undefined) {
      if (compiled.auth === true) throw unauthenticated();
      return undefined;
    }
    try {
      return await authenticator.authenticate(header);
    } catch (error) {
      if (compiled.auth === true) throw error;
      // "optional": an unusable token leaves the request anonymous, like no token at all.
      return undefined;
    }
  }

  /** Counts the request and sets the RateLimit headers; a promise only if the store is async. */
  function applyRateLimit(ex: Exchange, principal: Principal | undefined): void | Promise<void> {
    if (rateLimiter === undefined) return;
    const limiter = rateLimiter;
    let decision: RateLimitDecision | Promise<RateLimitDecision>;
    try {
      decision = limiter.check({ principal, clientIp: clientIpOf(ex.req) });
    } catch (error) {
      return rateLimiterFailed(error);
    }
    if (!isPromise(decision)) return enforce(ex, decision, limiter.periodMs);
    return Promise.resolve(decision).then(
      (d) => enforce(ex, d, limiter.periodMs),
      (error: unknown) => rateLimiterFailed(error),
    );
  }

  function rateLimiterFailed(error: unknown): void {
    // Fail open: a broken limiter store must not take the whole API down with it.
    logger.warn({ err: error }, "rate limiter failed; request allowed");
  }

  function enforce(ex: Exchange, decision: RateLimitDecision, periodMs: number): void {
    ex.headers["ratelimit-limit"] = decision.limit;
    ex.headers["ratelimit-remaining"] = decision.remaining;
    ex.headers["ratelimit-reset"] = Math.ceil(decision.resetMs / 1000);
    ex.headers["ratelimit-policy"] = `${decision.limit};w=${Math.round(periodMs / 1000)}`;
    if (!decision.allowed) {
      throw new PlexusError(Code.ResourceExhausted, "rate limit exceeded", {
        reason: "RATE_LIMITED",
        metadata: { retryAfterMs: String(decision.retryAfterMs) },
      });
    }
  }

  function sendResponse(ex: Exchange, response: GatewayResponse): void {
    const hasPayload = response.body !== undefined;
    const status = response.status ?? (hasPayload ? 200 : 204);
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new PlexusError(Code.Internal, `handler returned invalid status ${status}`);
    }
    const headers: Record<string, string | number | readonly string[]> = {
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

  function sendError(ex: Exchange, thrown: unknown): void {
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

    const headers: Record<string, string | number | readonly string[]> = {
      ...ex.headers,
      "content-type": jsonContentType,
      "cache-control": "no-store",
    };
    if (status === 429 || status === 503) {
      const hintMs = Number(error.metadata["retryAfterMs"]);
      headers["retry-after"] =
        Number.isFinite(hintMs) && hintMs > 0 ? Math.ceil(hintMs / 1000) : retryAfterSeconds;
    }
    if (status === 401) headers["www-authenticate"] = 'Bearer realm="api"';
    if (error.reason === "PAYLOAD_TOO_LARGE" || (ex.bodyRead && !ex.req.readableEnded)) {
      // The rest of the body is not worth reading: close the connection after this answer.
      headers["connection"] = "close";
    } else if (!ex.bodyRead && hasBody(ex.req) && !(contentLengthOf(ex.req)! <= maxBodyBytes)) {
      headers["connection"] = "close";
    }
    const body = toErrorBody(error, {
      requestId: ex.requestId,
      path: ex.path,
      now: new Date(clock.now()),
    });
    send(ex, status, headers, JSON.stringify(body));
  }

  function send(
    ex: Exchange,
    status: number,
    headers: Record<string, string | number | readonly string[]> | undefined,
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

  function handleClientError(error: Error & { code?: string }, socket: Socket): void {
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, text, reason, message] =
      error.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", "HEADERS_TOO_LARGE", "request headers too large"]
        : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [408, "Request Timeout", "REQUEST_TIMEOUT", "request timed out"]
          : [400, "Bad Request", "BAD_REQUEST", "malformed HTTP request"];
    const requestId = newRequestId();
    const body = JSON.stringify({
      error: {
        code: reason,
        message,
        requestId,
        timestamp: new Date(clock.now()).toISOString(),
        path: "",
      },
    });
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\n` +
        `content-type: ${jsonContentType}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${requestId}\r\n` +
        `x-correlation-id: ${newCorrelationId()}\r\n` +
        `connection: close\r\n\r\n${body}`,
    );
  }

  async function listen(listenOptions: ListenOptions = {}): Promise<Listening> {
    const server = createServer(
      {
        // Slow-loris guards; generous next to route timeouts (10 s by default).
        requestTimeout: 30_000,
        headersTimeout: 10_000,
        keepAliveTimeout: 5_000,
        ...listenOptions.server,
      },
      listener,
    );
    server.on("clientError", handleClientError);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(listenOptions.port ?? 0, listenOptions.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    servers.add(server);
    const { port } = server.address() as AddressInfo;
    const host = listenOptions.host ?? "127.0.0.1";
    const urlHost = host.includes(":")
      ? `[${host}]`
      : host === "0.0.0.0" || host === "::"
        ? "127.0.0.1"
        : host;
    return { server, port, url: `http://${urlHost}:${port}` };
  }

  async function close(): Promise<void> {
    draining = true;
    const closing = [...servers].map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        }),
    );
    if (inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainTimeoutMs);
        timer.unref();
        drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const server of servers) server.closeAllConnections();
    await Promise.all(closing);
    servers.clear();
    await rateLimiter?.close();
  }

  function destroy(): void {
    draining = true;
    for (const server of servers) {
      server.close();
      server.closeAllConnections();
    }
    servers.clear();
  }

  return {
    route,
    listener,
    destroy,
    handleClientError,
    listen,
    metrics,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function isPromise<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | undefined)?.then === "function";
}

function isRateLimiter(value: unknown): value is RateLimiter {
  return typeof (value as RateLimiter | undefined)?.check === "function";
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function badRequest(message: string): PlexusError {
  return new PlexusError(Code.InvalidArgument, message, { reason: "BAD_REQUEST" });
}

function lowerCaseKeys(
  headers: GatewayResponse["headers"],
): Record<string, string | number | readonly string[]> {
  const out: Record<string, string | number | readonly string[]> = {};
  if (headers) for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

/**
 * Splits the request target into path and query. Origin-form (`/a?b`) is the norm; absolute-form
 * (`http://host/a?b`, RFC 9112 §3.2.2) is accepted too; anything else (`*`, garbage) is undefined.
 */
function requestTarget(url: string): { path: string; query: string } | undefined {
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

/**
 * Settles with the handler, or rejects with the abort reason (deadline or client gone) as soon as
 * `signal` aborts, so a handler ignoring its signal cannot hold the response past the deadline.
 */
function raceDeadline<T>(work: PromiseLike<T>, signal: AbortSignal): Promise<T> {
  const promise = Promise.resolve(work);
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
