import {
  headerPreviousAttempts,
  type CallContext,
  type UnaryFn,
  type UnaryRequest,
  type UnaryResponse,
} from "@plexus/core";
import type { PolicyContext } from "./policy.ts";

/**
 * Sends one attempt: the request as it came for a first attempt that changes nothing, else a
 * copy with the attempt's signal and deadline (so the transport sends the per-try deadline)
 * and, on a retry or hedge, how many attempts came before.
 */
export function sendAttempt(
  next: UnaryFn,
  request: UnaryRequest,
  signal: AbortSignal,
  context: PolicyContext,
): Promise<UnaryResponse> {
  if (
    context.attempt === 1 &&
    signal === request.context.signal &&
    context.deadline === request.context.deadline
  ) {
    return next(request);
  }
  const callContext: CallContext = { ...request.context, deadline: context.deadline, signal };
  let header = request.header;
  if (context.attempt > 1) {
    header = new Headers(header);
    header.set(headerPreviousAttempts, String(context.attempt - 1));
  }
  return next({ ...request, header, context: callContext });
}
