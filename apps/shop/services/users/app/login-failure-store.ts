import type { LoginAttemptDecision, LoginLimitPolicy } from "../domain/login-limit.ts";

/**
 * Where the per-account failed-login log lives: the users service's database, so every replica
 * enforces one limit (a replica's memory would give an attacker the limit once per replica).
 */
export interface LoginFailureStore {
  /**
   * Decides an attempt on `account` at `now` and records it, atomically per account (a row lock:
   * concurrent attempts on one account are decided one after the other).
   */
  attempt(account: string, now: number, policy: LoginLimitPolicy): Promise<LoginAttemptDecision>;
  /** Forgets the account's failures (after a successful login). */
  forgive(account: string): Promise<void>;
  /** Deletes at most `limit` rows that expired before `now`; resolves how many. */
  prune(now: number, limit: number): Promise<number>;
}
