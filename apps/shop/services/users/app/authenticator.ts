import { randomUUID } from "node:crypto";
import { Code, PlexusError } from "@plexus/core";
import { characterCount, maxPasswordLength } from "../domain/new-user.ts";
import { hashPassword, verifyPassword } from "../domain/password-hash.ts";
import type { User } from "../domain/user.ts";
import type { UserRepository } from "./user-repository.ts";

export interface AuthenticatorOptions {
  readonly users: UserRepository;
  /**
   * Hasher used once, lazily, to make the dummy hash checked when an email is unknown.
   * Default: scrypt with the default parameters — it must cost what a real user's hash costs,
   * or response times would tell which emails are registered.
   */
  readonly hash?: (password: string) => Promise<string>;
}

/** Checks credentials; the one way to learn that a password is right. */
export interface Authenticator {
  /** @throws PlexusError `Unauthenticated` ("invalid credentials"), the same for every mismatch. */
  authenticate(email: string, password: string): Promise<User>;
}

function invalidCredentials(): PlexusError {
  return new PlexusError(Code.Unauthenticated, "invalid credentials");
}

/**
 * An authenticator that answers an unknown email and a wrong password alike, in message and in
 * time: an unknown email is still checked against a (dummy) hash.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const hash = options.hash ?? hashPassword;
  // Made at once, so even the first unknown email costs one hash, not two. A failure surfaces on
  // the first use; the no-op catch only keeps it from being reported as unhandled meanwhile.
  const dummyHash = hash(randomUUID());
  dummyHash.catch(() => undefined);

  return {
    async authenticate(email, password) {
      // Over-long passwords were never accepted at registration; refusing them before hashing
      // bounds the cost of a request, and reveals nothing about the email.
      if (password.length === 0 || characterCount(password) > maxPasswordLength) {
        throw invalidCredentials();
      }
      const trimmed = email.trim();
      const user = trimmed.length > 0 ? await options.users.findByEmail(trimmed) : undefined;
      const matches = await verifyPassword(password, user?.passwordHash ?? (await dummyHash));
      if (!user || !matches) throw invalidCredentials();
      return {
        id: user.id,
        email: user.email,
        name: user.name,
        tier: user.tier,
        createdAt: user.createdAt,
      };
    },
  };
}
