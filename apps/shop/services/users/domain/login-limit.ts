/**
 * The per-account limit on failed logins (OWASP Authentication Cheat Sheet, "Account Lockout"):
 * at most `maxFailures` failed attempts in any `windowMs`, counted per account whether or not it
 * exists. A sliding log of failure times rather than a token bucket: it is exact ("5 in any 15
 * minutes" holds for every window, where a bucket refilling one token every 3 minutes allows 10 in
 * the first 15), and it stays small because a refused attempt is never recorded.
 */
export interface LoginLimitPolicy {
  readonly maxFailures: number;
  readonly windowMs: number;
}

/** OWASP's example: 5 failures in 15 minutes, then wait until the oldest leaves the window. */
export const defaultLoginLimitPolicy: LoginLimitPolicy = { maxFailures: 5, windowMs: 15 * 60_000 };

/** The outcome of asking to attempt a login, and the failure log to store with it. */
export type LoginAttemptDecision =
  | {
      readonly allowed: true;
      /** The log with this attempt counted as a failure (forgiven when it succeeds). */
      readonly failures: readonly number[];
    }
  | {
      readonly allowed: false;
      /** Until the oldest failure leaves the window and one attempt is allowed again. */
      readonly retryAfterMs: number;
      readonly failures: readonly number[];
    };

/**
 * Decides one attempt at `now` from the account's recent failure times. An allowed attempt is
 * counted at once, before the password is checked, so concurrent guesses cannot all slip through
 * before the first one is recorded; a successful login then forgets the account's failures.
 */
export function decideLoginAttempt(
  recentFailures: readonly number[],
  now: number,
  policy: LoginLimitPolicy,
): LoginAttemptDecision {
  const windowStart = now - policy.windowMs;
  // Sorted, and only the last maxFailures matter: the log never grows past the limit. A time
  // ahead of `now` (another replica's clock) is kept: forgetting it would grant a guess.
  const live = recentFailures
    .filter((at) => at > windowStart)
    .sort((a, b) => a - b)
    .slice(-policy.maxFailures);
  if (live.length >= policy.maxFailures) {
    const oldest = live[0]!;
    return { allowed: false, retryAfterMs: oldest + policy.windowMs - now, failures: live };
  }
  return { allowed: true, failures: [...live, now] };
}
