import type { PlexusError } from "@plexus/core";
import { withFallback, type FallbackOptions } from "./fallback.ts";
import { execute, type Operation, type Policy } from "./policy.ts";

/** The parts of a composed answer, by name: each fetches one part and honours its signal. */
export type CompositionParts = Record<string, Operation<unknown>>;

/** A part that failed or ran out of time, and why. */
export interface DegradedPartEvent {
  /** The part's name, as listed in `degraded`. */
  readonly part: string;
  /** Why it degraded (`DeadlineExceeded` when it was past its timeout). */
  readonly error: PlexusError;
}

export interface ComposeWithFallbacksOptions {
  /**
   * What every part runs under, each on its own: at least a per-part timeout
   * (`createTimeout`, aggressive — a part ignoring its signal must not hold the answer), or a
   * whole pipeline. Create it once and reuse it: its timers are shared across calls.
   */
  readonly policy: Policy;
  /**
   * The caller's cancellation: aborting it abandons every part and the composition rejects with
   * the cancellation — a caller that gave up wants no answer, not an answer full of `null`s.
   */
  readonly signal?: AbortSignal;
  /**
   * Told why each part degraded, as soon as it does (a log line, a metric): the answer only
   * names the part. Must not throw.
   */
  readonly onDegraded?: (event: DegradedPartEvent) => void;
}

/** The parts' values (`null` for a degraded part) and the degraded parts' names, in `parts` order. */
export interface Composition<P extends CompositionParts> {
  readonly values: { readonly [K in keyof P]: Awaited<ReturnType<P[K]>> | null };
  readonly degraded: readonly (keyof P & string)[];
}

// A degraded part is `null`, never a default or a stale copy: it is named, not disguised.
const nullFallback: FallbackOptions<null> = { fallback: () => null };

/**
 * Composes one answer from independent parts — API-gateway composition: the parts run in
 * parallel, each as `withFallback(execute(policy, part))`, so a part that fails or is past its
 * own timeout becomes `null` and is named in `degraded` while the others still answer. The
 * answer is whole, on time (bounded by the policy's timeout, not by the slowest part), and
 * honest about what is missing.
 *
 * @example
 * const partTimeout = createTimeout({ timeoutMs: 300, clock }); // once, at startup
 * const { values, degraded } = await composeWithFallbacks(
 *   {
 *     user: (signal) => users.getUser({ id }, { signal }),
 *     orders: (signal) => orders.listOrders({ userId: id }, { signal }),
 *   },
 *   { policy: partTimeout, signal: req.signal, onDegraded: ({ part, error }) => log(part, error) },
 * );
 * return { data: values, meta: { degraded } };
 */
export async function composeWithFallbacks<P extends CompositionParts>(
  parts: P,
  options: ComposeWithFallbacksOptions,
): Promise<Composition<P>> {
  const { policy, signal, onDegraded } = options;
  const names = Object.keys(parts) as (keyof P & string)[];
  const results = await Promise.all(
    names.map(async (name) => {
      const part = parts[name]!;
      const run = withFallback((partSignal) => execute(policy, part, partSignal), nullFallback);
      const result = await run(signal);
      if (result.degraded) onDegraded?.({ part: name, error: result.error });
      return result;
    }),
  );
  const values = {} as { -readonly [K in keyof P]: Awaited<ReturnType<P[K]>> | null };
  const degraded: (keyof P & string)[] = [];
  names.forEach((name, i) => {
    const result = results[i]!;
    values[name] = result.value as Awaited<ReturnType<P[typeof name]>> | null;
    if (result.degraded) degraded.push(name);
  });
  return { values, degraded };
}
