import {
  Code,
  formatTraceparent,
  headerIdempotencyKey,
  isWellFormedCorrelationId,
  parseTraceparent,
  PlexusError,
  type CallContext,
  type Principal,
  type TraceParent,
} from "@plexus/core";

/**
 * The metadata that carries a CallContext from one hop to the next, written by transports and read
 * by servers. The principal headers are internal: only the gateway may set them (it strips them
 * from outside requests), so a service trusts them — over the network, only on calls a service
 * token authenticates (ADR 13). The idempotency key's header is core's `headerIdempotencyKey`:
 * the client's resilience interceptors read it too.
 */
export const headerCorrelationId = "x-correlation-id";
export const headerRequestId = "x-request-id";
export const headerTraceparent = "traceparent";
export const headerPrincipalSubject = "x-plexus-principal-subject";
export const headerPrincipalTier = "x-plexus-principal-tier";
export const headerCaller = "x-plexus-caller";

/** Node's incoming header object shape (`IncomingHttpHeaders`, lowercase names). */
export type IncomingHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** What a server takes from the caller's metadata; the server adds its own request id and span. */
export interface PropagatedContext {
  readonly correlationId: string | undefined;
  readonly trace: TraceParent | undefined;
  readonly principal: Principal | undefined;
  readonly idempotencyKey: string | undefined;
  readonly caller: string | undefined;
}

/** A header's value as Node gives it (a string, or an array for a repeated one): the first. */
export function firstHeaderValue(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" ? value : value?.[0];
}

/** API.md: an idempotency key is 1–255 printable ASCII characters. */
const idempotencyKeyPattern = /^[\x20-\x7e]{1,255}$/;
const principalPattern = /^[\x21-\x7e]{1,256}$/;

/**
 * Writes the propagation headers of `ctx` into `target` (a plain object: what undici takes, and
 * cheaper than `Headers` on the hot path). The span in `ctx.trace` is sent as is: the caller's
 * client span, which the server parents its own span on.
 */
export function writeContextHeaders(ctx: CallContext, target: Record<string, string>): void {
  target[headerCorrelationId] = ctx.correlationId;
  if (ctx.trace !== undefined) target[headerTraceparent] = formatTraceparent(ctx.trace);
  if (ctx.principal !== undefined) {
    target[headerPrincipalSubject] = ctx.principal.subject;
    if (ctx.principal.tier !== undefined) target[headerPrincipalTier] = ctx.principal.tier;
  }
  if (ctx.idempotencyKey !== undefined) target[headerIdempotencyKey] = ctx.idempotencyKey;
  if (ctx.caller !== undefined) target[headerCaller] = ctx.caller;
}

/**
 * Reads the caller's context from incoming metadata. Malformed optional values (a bad
 * correlation id, an invalid traceparent, a bad caller name) are dropped and regenerated, never
 * echoed; a malformed idempotency key is an error, since silently dropping it could let a retry
 * take effect twice.
 */
export function readContextHeaders(headers: IncomingHeaders): PropagatedContext | PlexusError {
  const correlation = firstHeaderValue(headers[headerCorrelationId]);
  const subject = firstHeaderValue(headers[headerPrincipalSubject]);
  const tier = firstHeaderValue(headers[headerPrincipalTier]);
  const key = firstHeaderValue(headers[headerIdempotencyKey]);
  const caller = firstHeaderValue(headers[headerCaller]);
  if (key !== undefined && !idempotencyKeyPattern.test(key)) {
    return new PlexusError(Code.InvalidArgument, "malformed idempotency-key header");
  }
  let principal: Principal | undefined;
  if (subject !== undefined && principalPattern.test(subject)) {
    principal = tier !== undefined && principalPattern.test(tier) ? { subject, tier } : { subject };
  }
  return {
    correlationId:
      correlation !== undefined && isWellFormedCorrelationId(correlation) ? correlation : undefined,
    trace: parseTraceparent(firstHeaderValue(headers[headerTraceparent])),
    principal,
    idempotencyKey: key,
    caller: caller !== undefined && isWellFormedCorrelationId(caller) ? caller : undefined,
  };
}
