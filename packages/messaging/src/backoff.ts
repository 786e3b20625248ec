import type { BackoffOptions } from "@plexus/core";

/** Backoff options with every default applied. */
export interface ResolvedBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
}

/** Redelivery defaults: first retry within 0.5 s, growing ×2, never more than 30 s apart. */
export const defaultBackoff: ResolvedBackoff = { initialMs: 500, maxMs: 30_000, multiplier: 2 };

/** Applies defaults and checks the values (a negative or NaN delay would spin). */
export function resolveBackoff(
  options: BackoffOptions | undefined,
  defaults: ResolvedBackoff = defaultBackoff,
): ResolvedBackoff {
  const resolved = {
    initialMs: options?.initialMs ?? defaults.initialMs,
    maxMs: options?.maxMs ?? defaults.maxMs,
    multiplier: options?.multiplier ?? defaults.multiplier,
  };
  if (!(resolved.initialMs >= 0) || !(resolved.maxMs >= resolved.initialMs)) {
    throw new RangeError(
      `backoff needs 0 <= initialMs <= maxMs (got ${resolved.initialMs}, ${resolved.maxMs})`,
    );
  }
  if (!(resolved.multiplier >= 1)) {
    throw new RangeError(`backoff multiplier must be >= 1 (got ${resolved.multiplier})`);
  }
  return resolved;
}

/**
 * The delay before retry number `failures` (1 after the first failure): exponential with full
 * jitter, `random() × min(maxMs, initialMs × multiplier^(failures-1))`. Full jitter spreads the
 * retries of many consumers that failed together (a database blip) instead of syncing them.
 *
 * @param random Uniform in [0, 1); injectable so tests are deterministic.
 */
export function backoffDelayMs(
  failures: number,
  backoff: ResolvedBackoff,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, failures - 1);
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * backoff.multiplier ** exponent);
  return Math.floor(random() * ceiling);
}
