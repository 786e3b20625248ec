import { Code, PlexusError, type Clock, type Logger } from "@plexus/core";

/** Fetches one part of a composed response; must give up when `signal` aborts. */
export type PartFetcher<T> = (signal: AbortSignal) => Promise<T>;

export interface ComposePartsOptions {
  /**
   * Budget of each part, in ms, measured from the moment the parts start. A part that has not
   * answered by then is abandoned (its signal aborts) and counts as degraded.
   */
  readonly timeoutMs: number;
  /** The request's signal: a client that leaves abandons every part. */
  readonly signal: AbortSignal;
  /** Runs the per-part timers (fake in tests). */
  readonly clock: Clock;
  /** Why a part degraded is logged here at warn level (clients only learn which part). */
  readonly logger: Logger;
}

/** The parts' values (`null` for a degraded part) and the names of the degraded parts, in order. */
export interface Composition<P extends Record<string, PartFetcher<unknown>>> {
  readonly values: { [K in keyof P]: Awaited<ReturnType<P[K]>> | null };
  readonly degraded: (keyof P & string)[];
}

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false };

async function runPart<T>(
  name: string,
  fetch: PartFetcher<T>,
  options: ComposePartsOptions,
): Promise<Outcome<T>> {
  const { clock, timeoutMs, signal } = options;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  let timer: unknown;
  const timedOut = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => {
      const error = new PlexusError(
        Code.DeadlineExceeded,
        `part ${name} did not answer within ${timeoutMs} ms`,
      );
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    if (signal.aborted) throw signal.reason;
    // The race, not only the signal: a part that ignores its signal must not hold the response.
    return { ok: true, value: await Promise.race([fetch(controller.signal), timedOut]) };
  } catch (error) {
    options.logger.warn({ err: error, part: name }, "composed part degraded");
    return { ok: false };
  } finally {
    clock.clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Fetches the parts of a composed response in parallel, each under its own timeout. A part that
 * fails or is too slow is `null` and named in `degraded` — never replaced by a stale or made-up
 * value — so the response is still whole, on time, and honest about what is missing.
 *
 * @example
 * const { values, degraded } = await composeParts(
 *   { users: (signal) => users.getUser({ id }, { signal }), orders: ... },
 *   { timeoutMs: 300, signal: req.signal, clock, logger },
 * );
 */
export async function composeParts<P extends Record<string, PartFetcher<unknown>>>(
  parts: P,
  options: ComposePartsOptions,
): Promise<Composition<P>> {
  const names = Object.keys(parts) as (keyof P & string)[];
  const outcomes = await Promise.all(names.map((name) => runPart(name, parts[name]!, options)));
  const values = {} as { [K in keyof P]: Awaited<ReturnType<P[K]>> | null };
  const degraded: (keyof P & string)[] = [];
  names.forEach((name, i) => {
    const outcome = outcomes[i]!;
    values[name] = outcome.ok ? (outcome.value as Awaited<ReturnType<P[typeof name]>>) : null;
    if (!outcome.ok) degraded.push(name);
  });
  return { values, degraded };
}
