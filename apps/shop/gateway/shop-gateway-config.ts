import { integerSetting } from "@plexus/core";
/** The shop gateway's own settings (besides the gateway package's), read from its environment. */
export interface ShopGatewayConfig {
  /**
   * Time budget of each part of `GET /api/v1/me/overview`, in ms
   * (`PLEXUS_OVERVIEW_PART_TIMEOUT_MS`, default 300). The parts run in parallel, so the whole
   * answer takes at most about this long; API.md wants it within 1 s, hence the cap of 800.
   */
  readonly overviewPartTimeoutMs: number;
  /**
   * The stricter per-client limit of the routes that cost a password hash (sign-up and token
   * issuance), beside the general one: `PLEXUS_CREDENTIAL_RATE_LIMIT` requests per minute per
   * client IP (default 10), at most `PLEXUS_CREDENTIAL_RATE_BURST` at once (default 5, or the
   * limit when lower). A hash costs 0.1–0.5 s of CPU: at the general limit one client could keep
   * every core hashing, time out the users service and open its breaker for everyone.
   */
  readonly credentialRateLimit: { readonly limit: number; readonly burst: number };
}

/** The gateway rate-limit policy of the credential routes. */
export const credentialsPolicy = "credentials";

export const defaultOverviewPartTimeoutMs = 300;
const defaultCredentialRateLimit = 10;
const defaultCredentialRateBurst = 5;
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
  const limit =
    integerSetting(config, "PLEXUS_CREDENTIAL_RATE_LIMIT", 1) ?? defaultCredentialRateLimit;
  const burst =
    integerSetting(config, "PLEXUS_CREDENTIAL_RATE_BURST", 1) ??
    Math.min(defaultCredentialRateBurst, limit);
  return {
    overviewPartTimeoutMs: overviewPartTimeoutMs ?? defaultOverviewPartTimeoutMs,
    credentialRateLimit: { limit, burst },
  };
}
