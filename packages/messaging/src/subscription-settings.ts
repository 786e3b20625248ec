import type { BrokerSubscription } from "@plexus/core";
import { cappedAttempts } from "@plexus/resilience";
import { resolveBackoff, type ResolvedBackoff } from "./backoff.ts";
import { compileTypeFilter, type EventTypeFilter } from "./event-type-filter.ts";

/** Defaults of a subscription's settings. */
const defaultMaxDeliveries = 5;
const defaultConcurrency = 4;
const groupPattern = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** A subscription's settings, checked and with every default applied: the same in every adapter. */
export interface SubscriptionSettings {
  /** Whether an event type is one the subscription asked for. */
  readonly filter: EventTypeFilter;
  /** Deliveries before dead-lettering, as handlers see it (gRFC A6's backoff caps it at 5). */
  readonly maxDeliveries: number;
  /** Deliveries handled at once by this member. */
  readonly concurrency: number;
  readonly backoff: ResolvedBackoff;
}

/**
 * Checks a subscription (group name, type patterns, counts, backoff) and applies the defaults:
 * every broker adapter refuses the same subscriptions, and behaves the same for the ones it takes.
 */
export function resolveSubscription(subscription: BrokerSubscription): SubscriptionSettings {
  if (!groupPattern.test(subscription.group)) {
    throw new TypeError(`invalid consumer group name ${JSON.stringify(subscription.group)}`);
  }
  const filter = compileTypeFilter(subscription.types);
  const maxDeliveries = subscription.maxDeliveries ?? defaultMaxDeliveries;
  const concurrency = subscription.concurrency ?? defaultConcurrency;
  if (!Number.isInteger(maxDeliveries) || maxDeliveries < 1) {
    throw new RangeError(`maxDeliveries must be an integer >= 1 (got ${maxDeliveries})`);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be an integer >= 1 (got ${concurrency})`);
  }
  const backoff = resolveBackoff(subscription.backoff);
  // gRFC A6's backoff brings its cap of 5 attempts; handlers see the number in force.
  return {
    filter,
    maxDeliveries: cappedAttempts(maxDeliveries, backoff.delay),
    concurrency,
    backoff,
  };
}
