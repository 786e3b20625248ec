import { stringSetting } from "@plexus/core";

/** The users service's settings, read from its environment. */
export interface UsersConfig {
  /** `iss` of issued tokens (`PLEXUS_JWT_ISSUER`, default `plexus-shop`). */
  readonly issuer: string;
  /** `aud` of issued tokens (`PLEXUS_JWT_AUDIENCE`, default `plexus-shop-api`). */
  readonly audience: string;
}

export const defaultIssuer = "plexus-shop";
export const defaultAudience = "plexus-shop-api";

/** Reads the settings; the defaults match the gateway's, so a bare environment just works. */
export function readUsersConfig(config: Readonly<Record<string, string | undefined>>): UsersConfig {
  return {
    issuer: stringSetting(config, "PLEXUS_JWT_ISSUER", defaultIssuer),
    audience: stringSetting(config, "PLEXUS_JWT_AUDIENCE", defaultAudience),
  };
}
