import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { CallContext, Interceptor, Principal } from "@plexus/core";
import type { BodyMode } from "./body.ts";
import type { DeprecationPolicy } from "./deprecation.ts";

/** What a route handler receives. Everything in it has already passed the gateway's checks. */
export interface GatewayRequest {
  /** Upper-case method (HEAD requests reach GET handlers with `HEAD` here). */
  readonly method: string;
  /** The raw path, still percent-encoded, without the query (as echoed in error bodies). */
  readonly path: string;
  /** Path and query as received (origin-form), e.g. for `paginate`'s self link. */
  readonly url: string;
  /** The route template that matched, e.g. `/api/v1/users/:id` (the metrics label). */
  readonly route: string;
  /** Percent-decoded path parameters. */
  readonly params: Readonly<Record<string, string>>;
  /** Strictly decoded query; repeated names are kept (`getAll`). */
  readonly query: URLSearchParams;
  /** Request headers with internal and forwarded-identity headers already removed. */
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body (`undefined` for routes with `body: "none"`). */
  readonly body: unknown;
  /** The authenticated caller, if any. */
  readonly principal: Principal | undefined;
  /** The client's address as the gateway sees it (see `GatewayOptions.clientIp`). */
  readonly clientIp: string;
  /** The call context the handler runs in (also available through `currentContext()`). */
  readonly context: CallContext;
  /** Aborted when the client disconnects or the route's deadline passes. */
  readonly signal: AbortSignal;
  /**
   * The underlying request, for streaming a body a route did not read (`body: "none"`, e.g. a
   * proxy). Its `headers` and `rawHeaders` are already stripped of internal headers.
   */
  readonly raw: IncomingMessage;
}

/** What a route handler returns. */
export interface GatewayResponse {
  /** HTTP status. Default 200, or 204 when there is no `body`. */
  status?: number;
  /** Extra response headers (the gateway's own — ids, trace, rate limits — take precedence). */
  headers?: Readonly<Record<string, string | number | readonly string[]>>;
  /**
   * The body: serialised as JSON (`application/json; charset=utf-8`) unless it is a string,
   * `Uint8Array` or `Readable`, which are sent as-is (set `content-type` yourself).
   */
  body?: unknown;
}

export type RouteHandler = (request: GatewayRequest) => GatewayResponse | Promise<GatewayResponse>;

/**
 * Runs around the handler of every route added with `Gateway.route` (DESIGN.md convention 7;
 * `GatewayOptions.interceptors`), in the request's context, after the gateway's own checks
 * (routing, authentication, rate limit, body). It may rewrite the request, answer without
 * calling `next`, or throw: a thrown error is answered as a handler's would be (API.md's error
 * shape, with its status).
 */
export type RouteInterceptor = Interceptor<GatewayRequest, GatewayResponse>;

/** One REST route. */
export interface RouteDefinition {
  /** HTTP method, e.g. `GET`. A GET route answers HEAD too. */
  method: string;
  /** Path template: static segments and `:name` parameters, e.g. `/api/v1/users/:id`. */
  path: string;
  handler: RouteHandler;
  /**
   * `true`: a valid bearer token is required (401 `UNAUTHENTICATED` otherwise).
   * `"optional"`: a token is verified when sent (a valid one sets `principal` and keys the rate
   * limit on the user), an absent or invalid one leaves the request anonymous.
   * `false`: the Authorization header is not looked at (e.g. the token endpoint itself).
   * Default `"optional"` when the gateway has an authenticator, else `false`.
   */
  auth?: boolean | "optional";
  /**
   * Request body handling. Default `"object"` for POST, PUT and PATCH (the usual JSON document),
   * `"none"` otherwise.
   */
  body?: BodyMode;
  /** Largest accepted body. Default `GatewayOptions.maxBodyBytes` (1 MiB). */
  maxBodyBytes?: number;
  /**
   * Time budget of the whole request: it becomes the context's deadline, so downstream calls
   * inherit it, and the gateway answers 504 when it passes. Default
   * `GatewayOptions.defaultTimeoutMs` (10 000 ms).
   */
  timeoutMs?: number;
  /**
   * Whether this route counts against the rate limit and carries RateLimit headers. Default: the
   * path starts with one of `GatewayOptions.rateLimitedPrefixes` (`/api/`).
   */
  rateLimit?: boolean;
  /**
   * A named limit (`RateLimiterOptions.policies`) this route counts against as well as the
   * general one, with its own key space: e.g. `"credentials"` on routes that cost a password
   * hash. Implies `rateLimit`; the gateway refuses a route naming a policy its limiter lacks.
   */
  rateLimitPolicy?: string;
  /** Marks the route deprecated: Deprecation, Sunset and Link headers on every response. */
  deprecation?: DeprecationPolicy;
}
