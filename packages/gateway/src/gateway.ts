import type { IncomingMessage, ServerResponse } from "node:http";
import {
  createLogger,
  systemClock,
  type Clock,
  type HealthRegistry,
  type Logger,
} from "@plexus/core";
import { createMetrics, type Metrics, type Tracing } from "@plexus/observability";
import { builtinRoutes } from "./builtin-routes.ts";
import { createClientErrorHandler, type ClientErrorHandler } from "./client-error.ts";
import { compileRoute, type CompiledRoute, type RouteDefaults } from "./compiled-route.ts";
import { createInternalHeaderPolicy } from "./internal-headers.ts";
import type { Authenticator } from "./jwt-verifier.ts";
import { createRateLimiter, type RateLimiter, type RateLimiterOptions } from "./rate-limiter.ts";
import type { ReadinessCheck } from "./readiness.ts";
import { createRequestListener } from "./request-listener.ts";
import type { RouteDefinition, RouteInterceptor } from "./route.ts";
import { createRouter } from "./router.ts";
import { createServerGroup, type ListenOptions, type Listening } from "./server-group.ts";

// Part of the Gateway's own signature, so exported with it.
export type { ListenOptions, Listening };

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
   * Routes may add a named limit of its `policies` (`RouteDefinition.rateLimitPolicy`).
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
  /**
   * The process's tracing (`createTracing` of `@plexus/observability`; the host passes its own).
   * When enabled, every request gets a SERVER span named `<METHOD> <route template>` with HTTP
   * semantic-convention attributes, recorded under the request's trace ids (so a client's
   * `traceparent` is continued), active while the route's handler runs, and ERROR on a 5xx.
   * Default none: no span, and nothing allocated per request for it.
   */
  tracing?: Tracing;
  /**
   * Run around the handler of every route added with `route`, the first listed outermost,
   * composed once per route (see `RouteInterceptor`). The built-in health and metrics routes are
   * not intercepted: probes and scrapes must not depend on what guards the API. Default none:
   * handlers are called directly.
   */
  interceptors?: readonly RouteInterceptor[];
}

/** The public REST edge. */
export interface Gateway extends AsyncDisposable {
  /** Adds a route. Throws on a duplicate method + path or a malformed template. */
  route(definition: RouteDefinition): void;
  /** The request listener, for a server you create yourself (also wire `handleClientError`). */
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** A `clientError` handler answering protocol errors (e.g. headers too large) in API.md's shape. */
  readonly handleClientError: ClientErrorHandler;
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
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  const routeDefaults: RouteDefaults = {
    auth: authenticator ? "optional" : false,
    maxBodyBytes,
    timeoutMs: options.defaultTimeoutMs ?? 10_000,
    rateLimitedPrefixes,
    interceptors: options.interceptors ?? [],
  };

  const router = createRouter<CompiledRoute>();
  const servers = createServerGroup({ drainTimeoutMs: options.drainTimeoutMs ?? 10_000 });
  const listener = createRequestListener({
    caller: name,
    logger,
    metrics,
    clock,
    servers,
    tracing: options.tracing?.enabled ? options.tracing : undefined,
    router,
    authenticator,
    rateLimiter,
    rateLimitedPrefixes,
    clientIp: options.clientIp ?? ((req) => req.socket.remoteAddress ?? "unknown"),
    headerPolicy: createInternalHeaderPolicy(
      options.internalHeaders?.names,
      options.internalHeaders?.prefixes,
    ),
    maxBodyBytes,
    maxJsonDepth: options.maxJsonDepth ?? 64,
    maxUrlLength: options.maxUrlLength ?? 8_192,
    maxQueryParams: options.maxQueryParams ?? 100,
    retryAfterSeconds,
  });
  const handleClientError = createClientErrorHandler(clock);

  function add(def: RouteDefinition, defaults: RouteDefaults): void {
    const policy = def.rateLimitPolicy;
    // With limiting off there is nothing to count against; a typo must not pass silently otherwise.
    if (policy !== undefined && rateLimiter !== undefined && !rateLimiter.hasPolicy(policy)) {
      throw new Error(`route ${def.method} ${def.path}: no rate limit policy named ${policy}`);
    }
    router.add(def.method, def.path, compileRoute(def, defaults));
  }
  const route = (def: RouteDefinition): void => add(def, routeDefaults);

  const builtins = builtinRoutes({
    health: options.health,
    readiness: options.readiness ?? {},
    readinessTimeoutMs: options.readinessTimeoutMs ?? 2_000,
    retryAfterSeconds,
    metrics,
    metricsPath: options.metricsPath ?? "/metrics",
    servers,
  });
  const builtinDefaults = { ...routeDefaults, interceptors: [] };
  for (const def of builtins) add(def, builtinDefaults);

  async function close(): Promise<void> {
    await servers.close();
    await rateLimiter?.close();
  }

  return {
    route,
    listener,
    destroy: () => servers.destroy(),
    handleClientError,
    listen: (listenOptions = {}) => servers.listen(listener, handleClientError, listenOptions),
    metrics,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function isRateLimiter(value: unknown): value is RateLimiter {
  return typeof (value as RateLimiter | undefined)?.check === "function";
}
