import { Code, PlexusError, type Clock } from "@plexus/core";

/** How one try ended. */
export type AttemptResult = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface StepAttemptOptions {
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** Aborted when the orchestrator gives up on in-flight tries (closing past its bound). */
  readonly abandon: AbortSignal;
  /** Names the try in the timeout error. */
  readonly label: string;
}

/**
 * Runs one try of an action or compensation, bounded by `timeoutMs` on the injected clock. The
 * try's signal is aborted on timeout (DeadlineExceeded, retryable) or abandonment (Canceled), and
 * the try counts as failed at that moment even if the function ignores its signal: its late
 * result is dropped, and a retry with the same idempotency key makes the effect count once.
 */
export async function runStepAttempt(
  fn: (signal: AbortSignal) => Promise<unknown>,
  options: StepAttemptOptions,
): Promise<AttemptResult> {
  const controller = new AbortController();
  const { signal } = controller;
  const stopped = new Promise<never>((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
  });
  const timer = options.clock.setTimeout(() => {
    controller.abort(
      new PlexusError(
        Code.DeadlineExceeded,
        `${options.label} timed out after ${options.timeoutMs} ms`,
      ),
    );
  }, options.timeoutMs);
  const onAbandon = (): void => {
    controller.abort(new PlexusError(Code.Canceled, `${options.label} abandoned: shutting down`));
  };
  if (options.abandon.aborted) onAbandon();
  else options.abandon.addEventListener("abort", onAbandon, { once: true });
  try {
    // Promise.race subscribes to both: a late rejection of the work is handled, never unhandled.
    const work = Promise.resolve().then(() => fn(signal));
    return { ok: true, value: await Promise.race([work, stopped]) };
  } catch (error) {
    return { ok: false, error };
  } finally {
    options.clock.clearTimeout(timer);
    options.abandon.removeEventListener("abort", onAbandon);
  }
}
