/**
 * The one cross-cutting hook shape of Plexus (DESIGN.md convention 7): every boundary — an RPC
 * call on either side of the wire, an HTTP upstream request, an event publish or delivery, a saga
 * step — is a function from its call to a promise of its result, and an interceptor wraps one.
 * Resilience, telemetry and authentication are interceptors on the boundary they guard; what
 * differs between boundaries is only the call and result types.
 */

/** A boundary's handler: takes the call, settles with its result. */
export type CallHandler<Call, Result> = (call: Call) => Promise<Result>;

/**
 * Wraps a boundary's handler. Composed once (see {@link chainInterceptors}), so a call allocates
 * nothing per layer; name the inner function for readable stacks.
 *
 * @example
 * const logCalls: Interceptor<UnaryRequest, UnaryResponse> = (next) =>
 *   async function logCalls(call) {
 *     const result = await next(call);
 *     return result;
 *   };
 */
export type Interceptor<Call, Result> = (
  next: CallHandler<Call, Result>,
) => CallHandler<Call, Result>;

/** Composes interceptors around `last`, once; the first one listed runs outermost. */
export function chainInterceptors<Call, Result>(
  interceptors: readonly Interceptor<Call, Result>[],
  last: CallHandler<Call, Result>,
): CallHandler<Call, Result> {
  let handler = last;
  for (let i = interceptors.length - 1; i >= 0; i--) handler = interceptors[i]!(handler);
  return handler;
}
