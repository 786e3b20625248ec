import { integerSetting } from "@plexus/core";
/** The orders service's settings, read from its environment. */
export interface OrdersConfig {
  /**
   * Bound of one try of the charge step, in ms (`PLEXUS_ORDER_CHARGE_TIMEOUT_MS`, default 2000).
   * Shorter than tok_slow's ~3 s on purpose: a slow provider must not hold the saga, and the
   * retry (same idempotency key) finds the charge the provider made meanwhile.
   */
  readonly chargeTimeoutMs: number;
  /**
   * Tries of the charge step, the first included (`PLEXUS_ORDER_CHARGE_MAX_ATTEMPTS`, default 5).
   * tok_flaky fails at most twice in a row and tok_slow answers by the second or third try, so 5
   * leaves a margin; past it the order is cancelled as PAYMENT_UNAVAILABLE.
   */
  readonly chargeMaxAttempts: number;
  /**
   * Tries of the reserve step (`PLEXUS_ORDER_RESERVE_MAX_ATTEMPTS`, default 5). Reserving is
   * idempotent by order id and no money has moved yet, so it can afford to insist.
   */
  readonly reserveMaxAttempts: number;
  /**
   * Upper bound of the first retry backoff of any step, in ms (`PLEXUS_ORDER_RETRY_DELAY_MS`,
   * default 200); it doubles per try (full jitter), capped at 5 s.
   */
  readonly retryDelayMs: number;
  /**
   * How long stopping the service lets in-flight saga steps finish before abandoning them
   * (`PLEXUS_ORDER_SAGA_CLOSE_TIMEOUT_MS`, default 10 000). Abandoned steps are re-run with the
   * same idempotency keys when a host starts on the same data again.
   */
  readonly sagaCloseTimeoutMs: number;
  /**
   * How often to look for unfinished sagas nobody runs (`PLEXUS_ORDER_SAGA_POLL_MS`, default
   * 5000; 0 = only at start-up): a crashed replica's sagas resume within this.
   */
  readonly sagaPollIntervalMs: number;
  /**
   * How long an Idempotency-Key is kept after its first use, in ms
   * (`PLEXUS_IDEMPOTENCY_KEY_TTL_MS`, default 86 400 000: API.md's 24 h). Past it the same key
   * makes a new order.
   */
  readonly idempotencyKeyTtlMs: number;
  /**
   * How often expired keys are swept from the database, in ms (`PLEXUS_IDEMPOTENCY_SWEEP_MS`,
   * default 600 000; 0 = never). Expiry itself does not wait for it: an expired key reads as
   * absent at once; the sweep only keeps the table from growing.
   */
  readonly idempotencySweepIntervalMs: number;
  /**
   * How long a replica's claim on a saga lasts without renewal (`PLEXUS_ORDER_SAGA_LEASE_MS`,
   * default 30 000; renewed every third of it): on a shared Postgres, a crashed replica's sagas
   * are taken over by another once their leases ran out (then at its next poll). Lower it only
   * where replicas' clocks agree to well within it.
   */
  readonly sagaLeaseMs: number;
}

export const defaultOrdersConfig: OrdersConfig = {
  chargeTimeoutMs: 2000,
  chargeMaxAttempts: 5,
  reserveMaxAttempts: 5,
  retryDelayMs: 200,
  sagaCloseTimeoutMs: 10_000,
  sagaPollIntervalMs: 5000,
  idempotencyKeyTtlMs: 24 * 60 * 60 * 1000,
  idempotencySweepIntervalMs: 10 * 60 * 1000,
  sagaLeaseMs: 30_000,
};

/**
 * Reads the settings.
 *
 * @throws Error naming the setting when one is not a valid integer (a typo must not silently
 *   fall back to a default).
 */
export function readOrdersConfig(
  config: Readonly<Record<string, string | undefined>>,
): OrdersConfig {
  const d = defaultOrdersConfig;
  return {
    chargeTimeoutMs:
      integerSetting(config, "PLEXUS_ORDER_CHARGE_TIMEOUT_MS", 1) ?? d.chargeTimeoutMs,
    chargeMaxAttempts:
      integerSetting(config, "PLEXUS_ORDER_CHARGE_MAX_ATTEMPTS", 1) ?? d.chargeMaxAttempts,
    reserveMaxAttempts:
      integerSetting(config, "PLEXUS_ORDER_RESERVE_MAX_ATTEMPTS", 1) ?? d.reserveMaxAttempts,
    retryDelayMs: integerSetting(config, "PLEXUS_ORDER_RETRY_DELAY_MS", 0) ?? d.retryDelayMs,
    sagaCloseTimeoutMs:
      integerSetting(config, "PLEXUS_ORDER_SAGA_CLOSE_TIMEOUT_MS", 0) ?? d.sagaCloseTimeoutMs,
    sagaPollIntervalMs:
      integerSetting(config, "PLEXUS_ORDER_SAGA_POLL_MS", 0) ?? d.sagaPollIntervalMs,
    idempotencyKeyTtlMs:
      integerSetting(config, "PLEXUS_IDEMPOTENCY_KEY_TTL_MS", 1) ?? d.idempotencyKeyTtlMs,
    idempotencySweepIntervalMs:
      integerSetting(config, "PLEXUS_IDEMPOTENCY_SWEEP_MS", 0) ?? d.idempotencySweepIntervalMs,
    sagaLeaseMs: integerSetting(config, "PLEXUS_ORDER_SAGA_LEASE_MS", 1) ?? d.sagaLeaseMs,
  };
}
