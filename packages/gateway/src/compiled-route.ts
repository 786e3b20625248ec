import { chainInterceptors } from "@plexus/core";
import type { BodyMode } from "./body.ts";
import type { RouteDefinition, RouteHandler, RouteInterceptor } from "./route.ts";

/** A route with the gateway's defaults applied, so the hot path reads settled values only. */
export interface CompiledRoute {
  readonly def: RouteDefinition;
  /** The route's handler inside the gateway's interceptors (the handler itself without any). */
  readonly handler: RouteHandler;
  readonly auth: boolean | "optional";
  readonly body: BodyMode;
  readonly maxBodyBytes: number;
  readonly timeoutMs: number;
  readonly rateLimit: boolean;
  readonly rateLimitPolicy: string | undefined;
}

/** The gateway-wide values a route falls back to (see `GatewayOptions`). */
export interface RouteDefaults {
  readonly auth: boolean | "optional";
  readonly maxBodyBytes: number;
  readonly timeoutMs: number;
  readonly rateLimitedPrefixes: readonly string[];
  /** Composed once around the route's handler, the first outermost. */
  readonly interceptors: readonly RouteInterceptor[];
}

/**
 * Applies `defaults` to what `def` leaves unset.
 *
 * @throws Error when the route names a rate-limit policy but turns rate limiting off.
 */
export function compileRoute(def: RouteDefinition, defaults: RouteDefaults): CompiledRoute {
  if (def.rateLimit === false && def.rateLimitPolicy !== undefined) {
    throw new Error(`route ${def.method} ${def.path}: rateLimitPolicy needs rateLimit`);
  }
  const method = def.method.toUpperCase();
  const takesBody = method === "POST" || method === "PUT" || method === "PATCH";
  const { handler } = def;
  return {
    def,
    handler:
      defaults.interceptors.length === 0
        ? handler
        : chainInterceptors(defaults.interceptors, async (request) => handler(request)),
    auth: def.auth ?? defaults.auth,
    body: def.body ?? (takesBody ? "object" : "none"),
    maxBodyBytes: def.maxBodyBytes ?? defaults.maxBodyBytes,
    timeoutMs: def.timeoutMs ?? defaults.timeoutMs,
    rateLimit:
      def.rateLimit ??
      (def.rateLimitPolicy !== undefined ||
        isRateLimitedPath(def.path, defaults.rateLimitedPrefixes)),
    rateLimitPolicy: def.rateLimitPolicy,
  };
}

/**
 * Whether a path falls under the rate-limited prefixes: decides a route's default, and whether a
 * request no route matches is counted (probing unknown paths must not be free).
 */
export function isRateLimitedPath(path: string, prefixes: readonly string[]): boolean {
  for (const prefix of prefixes) if (path.startsWith(prefix)) return true;
  return false;
}
