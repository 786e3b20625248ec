import { PlexusError } from "@plexus/core";
import { firstAttempt, type ExecuteOptions, type Operation } from "./policy.ts";

/**
 * The outcome of a call with a fallback. A degraded result is a different type from a fresh
 * one, so a caller cannot pass stale or default data off as fresh without looking.
 */
export type FallbackResult<T, F = T> =
  | { readonly degraded: false; readonly value: T }
  | {
      readonly degraded: true;
      readonly value: F;
      /** Why the primary failed. */
      readonly error: PlexusError;
      /** Set when the value is an older copy of real data (a cache): when it was fresh. */
      readonly staleSince?: number;
    };

/** What a fallback function may return: a value, or a value with the time it was fresh at. */
export type FallbackValue<F> = F | { readonly value: F; readonly staleSince: number };

export interface FallbackOptions<F> {
  /**
   * Produces the degraded value from the failure (a default, a cached copy via
   * {@link stale}). A fallback that throws makes the call fail with the original error.
   */
  fallback: (error: PlexusError) => FallbackValue<F> | Promise<FallbackValue<F>>;
  /**
   * Which failures fall back. Default: all of them. The caller's own cancellation never falls
   * back, whatever this says: a caller that gave up wants no answer at all.
   */
  shouldFallback?: (error: PlexusError) => boolean;
}

const staleMark = Symbol("plexus.stale");

/** Marks a fallback value as a stale copy of real data, fresh at `staleSince` (epoch ms). */
export function stale<F>(value: F, staleSince: number): FallbackValue<F> {
  return { value, staleSince, [staleMark]: true } as FallbackValue<F>;
}

function isStale<F>(value: FallbackValue<F>): value is { value: F; staleSince: number } {
  return typeof value === "object" && value !== null && staleMark in value;
}

/**
 * Wraps an operation (usually a composed pipeline's `execute`) with a fallback. Successes come
 * back as `{ degraded: false, value }`; failures that fall back come back as
 * `{ degraded: true, value, error, staleSince? }` — the gateway names such parts in
 * `meta.degraded`, and nothing stale is ever returned looking fresh.
 *
 * @example
 * const getOrders = withFallback(
 *   (signal) => execute(pipeline, (s) => orders.list(req, { signal: s }), signal),
 *   { fallback: () => [] },
 * );
 * const result = await getOrders(signal);
 * if (result.degraded) meta.degraded.push("orders");
 */
export function withFallback<T, F = T>(
  operation: Operation<T>,
  options: FallbackOptions<F>,
): (options?: ExecuteOptions | AbortSignal) => Promise<FallbackResult<T, F>> {
  const { fallback } = options;
  const shouldFallback = options.shouldFallback ?? (() => true);
  return async function withFallbackCall(execOptions): Promise<FallbackResult<T, F>> {
    const context = firstAttempt(operation, execOptions);
    try {
      return { degraded: false, value: await operation(context.signal, context) };
    } catch (caught) {
      const error = PlexusError.from(caught);
      if (context.signal.aborted || !shouldFallback(error)) throw error;
      let produced: FallbackValue<F>;
      try {
        produced = await fallback(error);
      } catch {
        throw error;
      }
      return isStale(produced)
        ? { degraded: true, value: produced.value, error, staleSince: produced.staleSince }
        : { degraded: true, value: produced as F, error };
    }
  };
}
