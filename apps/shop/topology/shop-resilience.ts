import {
  growingOpenWait,
  type CalleePolicyOptions,
  type ClientResilienceOptions,
} from "@plexus/resilience";
import { defaultOrdersConfig } from "../services/orders/config.ts";
import { defaultChargeTimeoutMs } from "../services/payments/config.ts";

/** Reads are index lookups answering in milliseconds: one taking 2 s is stuck, not slow. */
const readTryMs = 2_000;

/**
 * A breaker for a dependency that takes money: judged on the last 20 calls (a card provider
 * sees few, bursty calls; a time window would judge a quiet minute on two of them), at least 10
 * of them, opening at half failing or at 80 % slower than a charge may take — answers that come
 * too late to help. It stays open 2 s first (the saga's next try is ~100–400 ms away: it fails
 * fast a few times instead of piling onto a provider in trouble), doubling while the provider
 * stays down, up to 30 s; 3 trial calls decide.
 */
function moneyBreaker(slowCallMs: number): CalleePolicyOptions["circuitBreaker"] {
  return {
    slidingWindow: { type: "count", size: 20 },
    minimumNumberOfCalls: 10,
    failureRateThreshold: 50,
    slowCallRateThreshold: 80,
    slowCallDurationThresholdMs: slowCallMs,
    openWaitMs: growingOpenWait({ initialMs: 2_000, multiplier: 2, maxMs: 30_000 }),
    permittedCallsInHalfOpen: 3,
    maxWaitInHalfOpenMs: 10_000,
  };
}

/**
 * The shop's call policies over Plexus's defaults (every callee: breaker, retry with a budget,
 * bulkhead), for the gateway's and the services' calls alike:
 * - per-try timeouts are explicit per callee: reads get 2 s — they answer in milliseconds, so a
 *   try that takes 2 s is stuck and its retry (reads are idempotent) still fits the gateway's
 *   10 s request deadline several times; writes (sign-up and token issuance hash passwords,
 *   PlaceOrder and stock reservations take row locks) keep the 5 s default, a safety net rather
 *   than a bound they meet;
 * - payments is not retried by the client: the order saga owns those retries (same idempotency
 *   key, its own per-try timeout shorter than a slow card), and retrying underneath it would
 *   multiply the attempts a struggling provider sees. Its breaker is tuned like the provider's:
 *   when payments cannot charge, orders fail fast (PAYMENT_UNAVAILABLE after the saga's tries)
 *   instead of queueing on it;
 * - `card-provider` (payments' HTTP upstream) likewise: no client retry (the saga retries with
 *   the same key), no per-try timeout (payments bounds each call by its charge timeout and the
 *   call's deadline), the money breaker with slow calls at the charge timeout.
 */
export const shopResilience: ClientResilienceOptions = {
  defaults: { perTryTimeoutMs: 5_000 },
  callees: {
    "shop.users.v1.UsersService": {
      perTryTimeoutMs: readTryMs,
      methods: { CreateUser: { perTryTimeoutMs: 5_000 }, IssueToken: { perTryTimeoutMs: 5_000 } },
    },
    "shop.catalog.v1.CatalogService": {
      perTryTimeoutMs: readTryMs,
      methods: {
        ReserveStock: { perTryTimeoutMs: 5_000 },
        ReleaseStock: { perTryTimeoutMs: 5_000 },
      },
    },
    "shop.orders.v1.OrdersService": {
      perTryTimeoutMs: readTryMs,
      methods: { PlaceOrder: { perTryTimeoutMs: 5_000 } },
    },
    "shop.notifications.v1.NotificationsService": { perTryTimeoutMs: readTryMs },
    "shop.payments.v1.PaymentsService": {
      retry: false,
      perTryTimeoutMs: false,
      circuitBreaker: moneyBreaker(defaultOrdersConfig.chargeTimeoutMs),
      methods: { ListCharges: { perTryTimeoutMs: readTryMs } },
    },
    "card-provider": {
      retry: false,
      perTryTimeoutMs: false,
      circuitBreaker: moneyBreaker(defaultChargeTimeoutMs),
    },
  },
};
