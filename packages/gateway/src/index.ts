export {
  createGateway,
  type Gateway,
  type GatewayOptions,
  type ListenOptions,
  type Listening,
} from "./gateway.ts";
export type {
  GatewayRequest,
  GatewayResponse,
  RouteDefinition,
  RouteHandler,
  RouteInterceptor,
} from "./route.ts";
export { isJsonContentType, type BodyMode } from "./body.ts";
export { formatFieldPath, parseWith, violationsOf } from "./parse-with.ts";
export {
  paginate,
  parsePagination,
  type Page,
  type PageRequest,
  type PaginationOptions,
  type QueryInput,
} from "./pagination.ts";
export { deprecationHeaders, type DeprecationPolicy } from "./deprecation.ts";
export {
  createMemoryRateLimitStore,
  gcra,
  type MemoryRateLimitStore,
  type MemoryRateLimitStoreOptions,
  type RateLimitDecision,
  type RateLimitQuota,
  type RateLimitStore,
} from "./rate-limit-store.ts";
export {
  createRateLimiter,
  rateLimitFromEnv,
  type RateLimitIdentity,
  type RateLimitPolicy,
  type RateLimiter,
  type RateLimiterOptions,
} from "./rate-limiter.ts";
export {
  createJwtVerifier,
  unauthenticated,
  type Authenticator,
  type JwtVerifier,
  type JwtVerifierOptions,
  type VerifiedToken,
} from "./jwt-verifier.ts";
export {
  runReadinessChecks,
  type CheckStatus,
  type ReadinessCheck,
  type ReadinessReport,
} from "./readiness.ts";
export {
  createInternalHeaderPolicy,
  internalHeaderNames,
  internalHeaderPrefixes,
  isInternalHeader,
  stripInternalHeaders,
  type InternalHeaderPolicy,
} from "./internal-headers.ts";
export { parseQuery } from "./query.ts";
export {
  createRouter,
  type MethodNotAllowed,
  type NotFound,
  type RouteLookup,
  type RouteMatch,
  type Router,
} from "./router.ts";
