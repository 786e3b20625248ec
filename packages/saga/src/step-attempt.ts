import { abortReason, Code, PlexusError } from "@plexus/core";

/** How one try ended. */
export type AttemptResult = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface StepAttemptOptions {
  /** The try's call scope's signal: aborted at its deadline (the per-try timeout) or abandonment. */
  readonly signal: AbortSignal;
  /** The per-try timeout, for the error. */
  readonly timeoutMs: number;
  /** Names the try in the error. */
  readonly label: string;
}

/** What a try stopped by its scope failed with: its timeout (retryable) or its abandonment. */
function stoppedError(signal: AbortSignal, options: StepAttemptOptions): PlexusError {
  return abortReason(signal).code === Code.DeadlineExceeded
    ? new PlexusError(
        Code.DeadlineExceeded,
        `${options.label} timed out after ${options.timeoutMs} ms`,
      )
    : new PlexusError(Code.Canceled, `${options.label} abandoned: shutting down`);
}

/**
 * Runs one try of an action or compensation until its scope's signal aborts (timeout:
 * DeadlineExceeded, retryable; abandonment: Canceled). The try counts as failed at that moment
 * even if the function ignores its signal: its late result is dropped, and a retry with the same
 * idempotency key makes the effect count once. A try whose scope aborted before it began is not
 * run.
 */
export async function runStepAttempt(
  fn: () => Promise<unknown>,
  options: StepAttemptOptions,
): Promise<AttemptResult> {
  const { signal } = options;
  if (signal.aborted) return { ok: false, error: stoppedError(signal, options) };
  let onAbort: () => void = () => {};
  const stopped = new Promise<never>((_, reject) => {
    onAbort = () => reject(stoppedError(signal, options));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    // Promise.race subscribes to both: a late rejection of the work is handled, never unhandled.
    const work = Promise.resolve().then(fn);
    return { ok: true, value: await Promise.race([work, stopped]) };
  } catch (error) {
    return { ok: false, error };
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
