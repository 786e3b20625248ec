import { integerSetting, stringSetting } from "@plexus/core";
import { defaultLoginLimitPolicy, type LoginLimitPolicy } from "./domain/login-limit.ts";

/** The users service's settings, read from its environment. */
export interface UsersConfig {
  /** `iss` of issued tokens (`PLEXUS_JWT_ISSUER`, default `plexus-shop`). */
  readonly issuer: string;
  /** `aud` of issued tokens (`PLEXUS_JWT_AUDIENCE`, default `plexus-shop-api`). */
  readonly audience: string;
  /**
   * Failed logins allowed per account (`PLEXUS_LOGIN_MAX_FAILURES`, default 5) in any window of
   * `PLEXUS_LOGIN_FAILURE_WINDOW_MS` (default 900 000, 15 minutes): OWASP's example lockout.
   */
  readonly loginLimit: LoginLimitPolicy;
}

export const defaultIssuer = "plexus-shop";
export const defaultAudience = "plexus-shop-api";

/**
 * Reads the settings; the defaults match the gateway's, so a bare environment just works.
 *
 * @throws Error naming the setting when one is not a valid integer.
 */
export function readUsersConfig(config: Readonly<Record<string, string | undefined>>): UsersConfig {
  const limit = defaultLoginLimitPolicy;
  return {
    issuer: stringSetting(config, "PLEXUS_JWT_ISSUER", defaultIssuer),
    audience: stringSetting(config, "PLEXUS_JWT_AUDIENCE", defaultAudience),
    loginLimit: {
      maxFailures: integerSetting(config, "PLEXUS_LOGIN_MAX_FAILURES", 1) ?? limit.maxFailures,
      windowMs: integerSetting(config, "PLEXUS_LOGIN_FAILURE_WINDOW_MS", 1) ?? limit.windowMs,
    },
  };
}
