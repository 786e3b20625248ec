import { createHash, timingSafeEqual } from "node:crypto";
import { invalidSetting, type Principal } from "@plexus/core";
import { unauthenticated, type Authenticator } from "@plexus/gateway";

const digest = (value: string): Buffer => createHash("sha256").update(value).digest();

/**
 * Accepts `Authorization: Bearer <PLEXUS_ADMIN_TOKEN>`. Digests are compared in constant time, so
 * neither the token's content nor its length leaks through timing.
 */
export function createAdminTokenAuthenticator(token: string): Authenticator {
  if (token.length < 16) {
    throw invalidSetting("PLEXUS_ADMIN_TOKEN", token, "at least 16 characters", {
      secret: true,
      fix: "set PLEXUS_ADMIN_TOKEN to a longer secret (e.g. `openssl rand -hex 32`), or unset it to turn the admin API off",
    });
  }
  const expected = digest(token);
  const admin: Principal = { subject: "admin", tier: "admin" };
  return {
    async authenticate(authorization) {
      if (authorization === undefined) return undefined;
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!match || !timingSafeEqual(digest(match[1]!), expected)) throw unauthenticated();
      return admin;
    },
  };
}
