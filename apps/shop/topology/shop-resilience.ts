import { Code, PlexusError } from "@plexus/core";
import {
  growingOpenWait,
  isCalleeFailure,
  type CalleePolicyOptions,
  type ClientResilienceOptions,
} from "@plexus/resilience";
import { defaultOrdersConfig } from "../services/orders/config.ts";
import { defaultChargeTimeoutMs } from "../services/payments/config.ts";
import { providerFailureReasons } from "../services/payments/domain/payment-errors.ts";

/** Reads are index lookups answering in milliseconds: one taking 2 s is stuck, not slow. */
const readTryMs = 2_000;

const isTimeout = (error: unknown): boolean =>
  error instanceof PlexusError && error.code === Code.DeadlineExceeded;

/**
 * A breaker for the card provider, which fails per card as much as it fails as a whole: a
 * declined, flaky (`tok_flaky`) or slow (`tok_slow`) card says nothing of the provider, so the
 * breaker must trip on an outage, not on a run of bad cards. It judges a 10 s window of at least
 * 20 calls and opens when 90 % failed (refused connections, 5xx) or every call ran into the
 * charge timeout (a hung provider). A timed-out charge is a slow call, not a failure: a slow card
 * times out too, and its retry with the same key succeeds. Open 2 s first, doubling while the
 * provider stays down, up to 30 s; 3 trial calls decide. A refusal's remaining wait travels to
 * the order saga as PROVIDER_UNAVAILABLE's pushback: its next try waits for the trial calls
 * instead of spending its tries on refusals, and a wait beyond its 5 s backoff cap ends them.
 */
const providerBreaker: CalleePolicyOptions["circuitBreaker"] = {
  slidingWindow: { type: "time", sizeMs: 10_000, bucketMs: 1_000 },
  minimumNumberOfCalls: 20,
  failureRateThreshold: 90,
  slowCallRateThreshold: 100,
  slowCallDurationThresholdMs: defaultChargeTimeoutMs,
  isFailure: (error) => isCalleeFailure(error) && !isTimeout(error),
  openWaitMs: growingOpenWait({ initialMs: 2_000, multiplier: 2, maxMs: 30_000 }),
  permittedCallsInHalfOpen: 3,
  maxWaitInHalfOpenMs: 10_000,
};

/**
 * Whether an error of the payments service says that *payments* is in trouble. When it answers
 * that its provider is down or timed out, payments itself is up (its own card-provider breaker
 * judges the provider); and a charge cut by the saga's charge timeout is most often a slow card.
 * Neither may open the breaker that also guards reading an order's charges.
 */
function isPaymentsFailure(error: unknown): boolean {
  if (!isCalleeFailure(error) || isTimeout(error)) return false;
  return !(
    error instanceof PlexusError &&
    error.reason !== undefined &&
    providerFailureReasons.includes(error.reason)
  );
}

/**
 * The breaker on orders → payments (and the gateway's charge listings): Plexus's time window,
 * with payments' own failures only (see {@link isPaymentsFailure}) and slow calls at the saga's
 * charge timeout, so a payments service that is down or hangs is failed fast while a provider
 * in trouble or a slow card is not held against it.
 */
const paymentsBreaker: CalleePolicyOptions["circuitBreaker"] = {
  isFailure: isPaymentsFailure,
  slowCallDurationThresholdMs: defaultOrdersConfig.chargeTimeoutMs,
};

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
 *   multiply the attempts a struggling provider sees. Its breaker counts payments' own failures
 *   only ({@link paymentsBreaker});
 * - `card-provider` (payments' HTTP upstream) likewise: no client retry (the saga retries with
 *   the same key), no per-try timeout (payments bounds each call by its charge timeout and the
 *   call's deadline), and {@link providerBreaker}.
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
      circuitBreaker: paymentsBreaker,
      methods: { ListCharges: { perTryTimeoutMs: readTryMs } },
    },
    "card-provider": {
      retry: false,
      perTryTimeoutMs: false,
      circuitBreaker: providerBreaker,
    },
  },
};
