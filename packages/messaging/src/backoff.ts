import type { BackoffOptions } from "@plexus/core";
import {
  createRetrySchedule,
  exponentialBackoff,
  type Backoff,
  type RetrySchedule,
} from "@plexus/resilience";

/** Backoff options with every default applied, and the backoff they make. */
export interface ResolvedBackoff extends Readonly<Required<BackoffOptions>> {
  /** Resilience's `exponentialBackoff` of these options: the one backoff of Plexus. */
  readonly delay: Backoff;
}

/** Redelivery defaults: first retry within 0.5 s, growing ×2, never more than 30 s apart. */
export const defaultBackoff: Readonly<Required<BackoffOptions>> = {
  initialMs: 500,
  maxMs: 30_000,
  multiplier: 2,
  jitter: "full",
};

/**
 * Applies defaults and checks the values (a negative or NaN delay would spin), then builds the
 * backoff with resilience's `exponentialBackoff`.
 */
export function resolveBackoff(
  options: BackoffOptions | undefined,
  defaults: Readonly<Required<BackoffOptions>> = defaultBackoff,
): ResolvedBackoff {
  const resolved = {
    initialMs: options?.initialMs ?? defaults.initialMs,
    maxMs: options?.maxMs ?? defaults.maxMs,
    multiplier: options?.multiplier ?? defaults.multiplier,
    jitter: options?.jitter ?? defaults.jitter,
  };
  if (!(resolved.initialMs >= 0) || !(resolved.maxMs >= resolved.initialMs)) {
    throw new RangeError(
      `backoff needs 0 <= initialMs <= maxMs (got ${resolved.initialMs}, ${resolved.maxMs})`,
    );
  }
  if (!(resolved.multiplier >= 1)) {
    throw new RangeError(`backoff multiplier must be >= 1 (got ${resolved.multiplier})`);
  }
  return { ...resolved, delay: exponentialBackoff(resolved) };
}

/**
 * The redelivery decisions of one message in one group: resilience's retry schedule, so a
 * handler's failure carrying a pushback (say, the `Unavailable` of a rate-limited callee) is
 * redelivered after that delay, and a "do not retry" pushback dead-letters it at once. A pushback
 * beyond `maxMs` waits `maxMs`: the message has nowhere else to go but the dead-letter store.
 */
export function createRedeliverySchedule(
  maxDeliveries: number,
  backoff: ResolvedBackoff,
  random: () => number,
): RetrySchedule {
  return createRetrySchedule({
    maxAttempts: maxDeliveries,
    backoff: backoff.delay,
    maxRetryAfterMs: backoff.maxMs,
    longPushback: "cap",
    random,
  });
}
