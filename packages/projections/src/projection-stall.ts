import type { BackoffOptions, Clock, Logger } from "@plexus/core";
import { defaultBackoff, resolveBackoff } from "@plexus/messaging";
import { createRetrySchedule, type RetrySchedule } from "@plexus/resilience";
import { ProjectionApplyError, type FailedEvent } from "./apply-error.ts";

/** Why a projection stands still, as its status shows it. */
export interface ProjectionFailure {
  /** Failed looks in a row. */
  readonly attempts: number;
  /** When the first of them failed (ISO 8601). */
  readonly since: string;
  /** The last failure's message. */
  readonly error: string;
  /** The event whose `apply` threw; absent when the look failed elsewhere (the database). */
  readonly event?: FailedEvent;
  /** When the runner looks again (ISO 8601). */
  readonly nextRetryAt: string;
}

export interface StallOptions {
  readonly backoff: BackoffOptions | undefined;
  readonly random: () => number;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  readonly log: string;
  readonly onFailure: ((error: unknown) => void) | undefined;
}

/** The failures in a row of one runner: their backoff, their log lines and what status shows. */
export interface Stall {
  readonly failure: ProjectionFailure | undefined;
  /** Records a failed look; returns the delay before the next one. */
  failed(error: unknown): number;
  /** Records a look that ended well (logged when it ends a stall). */
  recovered(): void;
}

/**
 * Tracks a runner's failures in a row. Retries follow resilience's retry schedule (the backoff of
 * message redelivery, `defaultBackoff` of messaging: 0.5 s ×2 up to 30 s, full jitter) with no
 * last attempt: a projection never skips an event, it waits for a fix (ADR 19).
 */
export function createStall(options: StallOptions): Stall {
  const backoff = resolveBackoff(options.backoff, defaultBackoff);
  const { clock, logger, random } = options;
  let schedule: RetrySchedule | undefined;
  let failure: ProjectionFailure | undefined;

  return {
    get failure() {
      return failure;
    },
    failed(error) {
      schedule ??= createRetrySchedule({
        maxAttempts: Number.POSITIVE_INFINITY,
        backoff: backoff.delay,
        maxRetryAfterMs: backoff.maxMs,
        random,
      });
      const decision = schedule.next(undefined);
      const delayMs = decision.retry ? decision.delayMs : backoff.maxMs;
      const now = clock.now();
      const event = error instanceof ProjectionApplyError ? error.event : undefined;
      failure = {
        attempts: (failure?.attempts ?? 0) + 1,
        since: failure?.since ?? new Date(now).toISOString(),
        error: error instanceof Error ? error.message : String(error),
        ...(event ? { event } : {}),
        nextRetryAt: new Date(now + delayMs).toISOString(),
      };
      const fields = { err: error, log: options.log, event, attempts: failure.attempts, delayMs };
      // The first failure is the incident; the retries that follow are its reminders.
      if (failure.attempts === 1)
        logger?.error(fields, "projection stalled: retrying with backoff");
      else logger?.warn(fields, "projection still stalled");
      options.onFailure?.(error);
      return delayMs;
    },
    recovered() {
      if (failure) {
        logger?.info({ attempts: failure.attempts, since: failure.since }, "projection recovered");
      }
      failure = undefined;
      schedule = undefined;
    },
  };
}
