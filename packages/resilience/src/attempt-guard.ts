import type { Clock } from "@plexus/core";
import type { BreakerCore } from "./breaker-core.ts";
import type { BulkheadCore } from "./bulkhead.ts";
import type { Attempt, AttemptHandler, Policy } from "./policy.ts";
import type { TimeoutCore } from "./timeout.ts";

/**
 * Bulkhead, circuit breaker and per-try timeout fused into one layer: the same semantics as
 * the three composed in that order, with one async frame, one clock read per attempt for all
 * three (plus the breaker's end-of-call read) and nothing allocated on the success path but the
 * attempt's own promise. This is what keeps the whole client pipeline under a microsecond.
 */
export function attemptGuard(
  bulkhead: BulkheadCore | undefined,
  breaker: BreakerCore | undefined,
  timeout: TimeoutCore | undefined,
  clock: Clock,
): Policy {
  return (next) => {
    const guard = new AttemptGuard(bulkhead, breaker, timeout, clock, next);
    return function guardedAttempt(attempt) {
      return guard.run(attempt);
    };
  };
}

/** The fused layer of one chain: the three cores and the rest of the chain. */
class AttemptGuard {
  private readonly bulkhead: BulkheadCore | undefined;
  private readonly breaker: BreakerCore | undefined;
  private readonly timeout: TimeoutCore | undefined;
  private readonly clock: Clock;
  private readonly next: AttemptHandler;

  constructor(
    bulkhead: BulkheadCore | undefined,
    breaker: BreakerCore | undefined,
    timeout: TimeoutCore | undefined,
    clock: Clock,
    next: AttemptHandler,
  ) {
    this.bulkhead = bulkhead;
    this.breaker = breaker;
    this.timeout = timeout;
    this.clock = clock;
    this.next = next;
  }

  run(context: Attempt): Promise<unknown> {
    const entered = this.bulkhead?.enter(context);
    return entered === undefined ? this.runAttempt(context) : this.runQueued(entered, context);
  }

  private async runQueued(entered: Promise<void>, context: Attempt): Promise<unknown> {
    await entered;
    return this.runAttempt(context);
  }

  /** Runs one attempt holding a bulkhead slot (when there is a bulkhead), and releases it. */
  private async runAttempt(context: Attempt): Promise<unknown> {
    const { breaker, timeout } = this;
    try {
      const now = breaker === undefined && timeout === undefined ? 0 : this.clock.now();
      // The timeout first: an attempt past its deadline never takes a half-open permit.
      const inner = timeout === undefined ? context : timeout.enter(context, now);
      let permit = 0;
      if (breaker !== undefined) {
        permit = breaker.acquire(now);
        if (permit < 0) {
          timeout?.exit(inner);
          throw breaker.rejectError(now);
        }
      }
      let promise = this.next(inner);
      if (timeout !== undefined) promise = timeout.race(promise, inner);
      let result: unknown;
      try {
        result = await promise;
      } catch (error) {
        timeout?.exit(inner);
        breaker?.failed(permit, now, error);
        throw error;
      }
      timeout?.exit(inner);
      breaker?.succeeded(permit, now, result);
      return result;
    } finally {
      this.bulkhead?.release();
    }
  }
}
