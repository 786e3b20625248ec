import { Code, PlexusError, type Clock, type Logger } from "@plexus/core";
import type { CardProvider, ProviderCallOptions } from "./card-provider.ts";
import type { ChargeRepository } from "./charge-repository.ts";

/** What the payments use cases work with. */
export interface PaymentsDeps {
  readonly charges: ChargeRepository;
  readonly provider: CardProvider;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Bound of one provider call, in ms (shorter than tok_slow's delay, by design). */
  readonly providerTimeoutMs: number;
}

/** The bounds of the call a use case serves. */
export interface CallBounds {
  /** Milliseconds left before the call's deadline (`Infinity` without one). */
  readonly remainingMs: number;
  readonly signal?: AbortSignal;
}

/**
 * Options of one provider call: the configured timeout, cut to what is left of the caller's
 * deadline so an answer is never computed for nobody.
 *
 * @throws PlexusError `DeadlineExceeded` when no time is left.
 */
export function providerCallOptions(deps: PaymentsDeps, bounds: CallBounds): ProviderCallOptions {
  const timeoutMs = Math.min(deps.providerTimeoutMs, bounds.remainingMs);
  if (!(timeoutMs > 0)) throw new PlexusError(Code.DeadlineExceeded, "deadline exceeded");
  return bounds.signal ? { timeoutMs, signal: bounds.signal } : { timeoutMs };
}
