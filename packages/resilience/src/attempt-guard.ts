import type { Clock } from "@plexus/core";
import type { BreakerCore } from "./breaker-core.ts";
import type { BulkheadCore } from "./bulkhead.ts";
import {
  executeWith,
  type ExecuteOptions,
  type Next,
  type Operation,
  type Policy,
  type PolicyContext,
} from "./policy.ts";
import type { TimeoutCore } from "./timeout.ts";

/**
 * Bulkhead, circuit breaker and per-try timeout fused into one layer: the same semantics as
 * the three composed in that order, with one async frame, one clock read per attempt for all
 * three (plus the breaker's end-of-call read) and nothing allocated on the success path but the
 * attempt's own promise. This is what keeps the whole client pipeline under a microsecond.
 */
export class AttemptGuard implements Policy {
  private readonly bulkhead: BulkheadCore | undefined;
  private readonly breaker: BreakerCore | undefined;
  private readonly timeout: TimeoutCore | undefined;
  private readonly clock: Clock;

  constructor(
    bulkhead: BulkheadCore | undefined,
    breaker: BreakerCore | undefined,
    timeout: TimeoutCore | undefined,
    clock: Clock,
  ) {
    this.bulkhead = bulkhead;
    this.breaker = breaker;
    this.timeout = timeout;
    this.clock = clock;
  }

  execute<T>(fn: Operation<T>, options?: ExecuteOptions | AbortSignal): Promise<T> {
    return executeWith(this, fn, options);
  }

  run<T>(next: Next, fn: Operation<T>, context: PolicyContext): Promise<T> {
    const entered = this.bulkhead?.enter(context);
    return entered === undefined
      ? this.runAttempt(next, fn, context)
      : this.runQueued(entered, next, fn, context);
  }

  private async runQueued<T>(
    entered: Promise<void>,
    next: Next,
    fn: Operation<T>,
    context: PolicyContext,
  ): Promise<T> {
    await entered;
    return this.runAttempt(next, fn, context);
  }

  /** Runs one attempt holding a bulkhead slot (when there is a bulkhead), and releases it. */
  private async runAttempt<T>(next: Next, fn: Operation<T>, context: PolicyContext): Promise<T> {
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
      let promise = next.run(fn, inner);
      if (timeout !== undefined) promise = timeout.race(promise, inner);
      let result: T;
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
