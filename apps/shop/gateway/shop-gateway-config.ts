import { integerSetting } from "@plexus/core";
/** The shop gateway's own settings (besides the gateway package's), read from its environment. */
export interface ShopGatewayConfig {
  /**
   * Time budget of each part of `GET /api/v1/me/overview`, in ms
   * (`PLEXUS_OVERVIEW_PART_TIMEOUT_MS`, default 300). The parts run in parallel, so the whole
   * answer takes at most about this long; API.md wants it within 1 s, hence the cap of 800.
   */
  readonly overviewPartTimeoutMs: number;
}

export const defaultOverviewPartTimeoutMs = 300;
const maxOverviewPartTimeoutMs = 800;

/**
 * Reads the settings.
 *
 * @throws StartupError naming the setting when it is not an integer in range (a typo must not silently
 *   fall back to a default).
 */
export function readShopGatewayConfig(
  config: Readonly<Record<string, string | undefined>>,
): ShopGatewayConfig {
  const overviewPartTimeoutMs = integerSetting(
    config,
    "PLEXUS_OVERVIEW_PART_TIMEOUT_MS",
    1,
    maxOverviewPartTimeoutMs,
  );
  return { overviewPartTimeoutMs: overviewPartTimeoutMs ?? defaultOverviewPartTimeoutMs };
}
