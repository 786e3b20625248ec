import { createHash, randomUUID } from "node:crypto";
import { Code, PlexusError, retryAfterKey, type Clock, type Logger } from "@plexus/core";
import type { LoginLimitPolicy } from "../domain/login-limit.ts";
import { characterCount, maxPasswordLength } from "../domain/new-user.ts";
import type { PasswordHasher } from "../domain/password-hash.ts";
import type { User, UserWithCredentials } from "../domain/user.ts";
import type { LoginFailureStore } from "./login-failure-store.ts";
import type { UserRepository } from "./user-repository.ts";

export interface AuthenticatorOptions {
  readonly users: UserRepository;
  /**
   * Checks passwords, re-hashes stale ones, and makes the dummy hash checked when an email is
   * unknown — at the current parameters, so an unknown email costs what a real user's does and
   * response times do not tell which emails are registered.
   */
  readonly hasher: PasswordHasher;
  /** The per-account failed-login log (shared by replicas). */
  readonly failures: LoginFailureStore;
  /** How many failures per account, in what window. */
  readonly policy: LoginLimitPolicy;
  readonly clock: Clock;
  /** Where unverifiable stored hashes and failed re-hashes are reported (never a password). */
  readonly logger: Logger;
}

/** Checks credentials; the one way to learn that a password is right. */
export interface Authenticator {
  /**
   * @throws PlexusError `Unauthenticated` ("invalid credentials"), the same for every mismatch;
   *   `FailedPrecondition` (`RATE_LIMITED`, with a `retryAfterMs` hint) once the account has
   *   failed too often.
   */
  authenticate(email: string, password: string): Promise<User>;
}

/** Expired rows of the failure log deleted per login: bounded work, and no timer to run. */
const pruneBatch = 100;

function invalidCredentials(): PlexusError {
  return new PlexusError(Code.Unauthenticated, "invalid credentials");
}

/**
 * FailedPrecondition, not ResourceExhausted: the account's state refuses the attempt, the users
 * service is fine. ResourceExhausted would tell every client pipeline the callee is overloaded —
 * retried, and counted against its circuit breaker, so one attacker hammering one account could
 * open the breaker for every login. The reason makes it a 429 `RATE_LIMITED` at the gateway.
 */
function tooManyFailures(retryAfterMs: number): PlexusError {
  return new PlexusError(Code.FailedPrecondition, "too many failed logins; try again later", {
    reason: "RATE_LIMITED",
    metadata: { [retryAfterKey]: String(Math.max(1, Math.ceil(retryAfterMs))) },
  });
}

/**
 * The key an account's failures are counted under: its normalised email (trimmed, case-folded
 * like the unique index), hashed — fixed length whatever was typed, and no list of the emails
 * strangers tried. Unknown emails get keys like known ones: the limit reveals nothing.
 */
function accountKey(email: string): string {
  return createHash("sha256").update(email.trim().toLowerCase()).digest("hex");
}

function publicUser(user: UserWithCredentials): User {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    tier: user.tier,
    createdAt: user.createdAt,
  };
}

/**
 * An authenticator that answers an unknown email and a wrong password alike, in message and in
 * time (an unknown email is still checked against a dummy hash), limits failed logins per account
 * (OWASP's account lockout, beside the gateway's per-client limit), and upgrades a hash made with
 * older parameters the moment its password is known.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { users, hasher, failures, policy, clock, logger } = options;
  // Made at once, so even the first unknown email costs one hash, not two. A failure surfaces on
  // the first use; the no-op catch only keeps it from being reported as unhandled meanwhile.
  const dummyHash = hasher.hash(randomUUID());
  dummyHash.catch(() => undefined);

  async function prune(now: number): Promise<void> {
    try {
      await failures.prune(now, pruneBatch);
    } catch (error) {
      logger.warn({ err: error }, "pruning expired login failures failed");
    }
  }

  async function rehash(user: UserWithCredentials, password: string): Promise<void> {
    try {
      const fresh = await hasher.hash(password);
      // Compare-and-set: a concurrent login's re-hash (or any other change) is never overwritten.
      if (await users.replacePasswordHash(user.id, user.passwordHash, fresh)) {
        logger.info({ userId: user.id }, "password re-hashed with the current parameters");
      }
    } catch (error) {
      // The login itself succeeded; the next one tries again.
      logger.warn({ err: error, userId: user.id }, "re-hashing a password failed");
    }
  }

  return {
    async authenticate(email, password) {
      // Over-long passwords were never accepted at registration; refusing them before hashing
      // bounds the cost of a request, and reveals nothing about the email.
      if (password.length === 0 || characterCount(password) > maxPasswordLength) {
        throw invalidCredentials();
      }
      const account = accountKey(email);
      const now = clock.now();
      // Counted as a failure before the check, forgiven after a success: concurrent guesses on one
      // account are decided one by one, and cannot all pass before the first is recorded.
      const decision = await failures.attempt(account, now, policy);
      await prune(now);
      if (!decision.allowed) throw tooManyFailures(decision.retryAfterMs);

      const trimmed = email.trim();
      const user = trimmed.length > 0 ? await users.findByEmail(trimmed) : undefined;
      const check = await hasher.check(password, user?.passwordHash ?? (await dummyHash));
      if (!user || (check !== "valid" && check !== "valid-stale")) {
        if (user && (check === "malformed" || check === "out-of-bounds")) {
          logger.warn({ userId: user.id, check }, "stored password hash cannot be verified");
        }
        throw invalidCredentials();
      }
      // A success resets the count: the failures were the owner's own typos, and only someone
      // who knows the password can trigger it.
      await failures.forgive(account);
      if (check === "valid-stale") await rehash(user, password);
      return publicUser(user);
    },
  };
}
