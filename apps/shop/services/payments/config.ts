import { integerSetting } from "@plexus/core";
/** The payments service's settings, read from its environment. */
export interface PaymentsConfig {
  /**
   * Bound of one call to the card provider, in ms (`PLEXUS_PAYMENT_CHARGE_TIMEOUT_MS`, default
   * 2000). Shorter than tok_slow on purpose: a slow charge times out, and its retry with the same
   * key must find the charge the provider made meanwhile rather than make a second.
   */
  readonly chargeTimeoutMs: number;
  /** How long the simulated provider takes for tok_slow (`PLEXUS_PAYMENT_SLOW_MS`, default 3000). */
  readonly slowMs: number;
  /**
   * Seed of tok_flaky's failures (`PLEXUS_PAYMENT_FLAKY_SEED`): the same seed gives the same
   * failures for the same keys, for reproducible tests. Default: random.
   */
  readonly flakySeed: number | undefined;
}

export const defaultChargeTimeoutMs = 2000;
export const defaultSlowMs = 3000;

/**
 * Reads the settings.
 *
 * @throws Error naming the setting when one is not a valid integer (a typo must not silently
 *   fall back to a default).
 */
export function readPaymentsConfig(
  config: Readonly<Record<string, string | undefined>>,
): PaymentsConfig {
  return {
    chargeTimeoutMs:
      integerSetting(config, "PLEXUS_PAYMENT_CHARGE_TIMEOUT_MS", 1) ?? defaultChargeTimeoutMs,
    slowMs: integerSetting(config, "PLEXUS_PAYMENT_SLOW_MS", 0) ?? defaultSlowMs,
    flakySeed: integerSetting(config, "PLEXUS_PAYMENT_FLAKY_SEED", 0),
  };
}
