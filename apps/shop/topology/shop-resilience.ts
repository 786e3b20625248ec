import type { ClientResilienceOptions } from "@plexus/resilience";

/**
 * The shop's call policies over Plexus's defaults (every callee: breaker, retry with a budget,
 * bulkhead). Per callee:
 * - every call gets a 5 s per-try timeout: a stuck try costs a retry, not the
 *   request's whole 10 s budget;
 * - payments is not retried by the client: the order saga owns those retries (same idempotency key,
 *   its own per-try timeout shorter than a slow card), and retrying underneath it would multiply
 *   the attempts a struggling provider sees.
 */
export const shopResilience: ClientResilienceOptions = {
  defaults: { perTryTimeoutMs: 5_000 },
  callees: {
    "shop.payments.v1.PaymentsService": { retry: false, perTryTimeoutMs: false },
  },
};
