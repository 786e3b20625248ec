/** The value a label takes once its set of distinct values is full. */
export const OVERFLOW_LABEL = "__other__";

/** Longest label value kept; longer ones are cut (a value that long is almost surely raw input). */
const MAX_LABEL_LENGTH = 128;

/**
 * Caps the distinct values one label may take. Prometheus keeps one series per label combination
 * for the life of the process, so a label fed from outside (a path, a method name, a service name
 * from a registry) must never grow without bound: after `maxValues` distinct values, new ones are
 * folded into {@link OVERFLOW_LABEL}. Values already seen keep their own series.
 */
export function createBoundedLabel(maxValues: number): (value: string) => string {
  const seen = new Set<string>();
  return function boundLabel(value: string): string {
    const v = value.length > MAX_LABEL_LENGTH ? value.slice(0, MAX_LABEL_LENGTH) : value;
    if (seen.has(v)) return v;
    if (seen.size >= maxValues) return OVERFLOW_LABEL;
    seen.add(v);
    return v;
  };
}

const httpMethods = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
  "TRACE",
  "CONNECT",
]);

/** An HTTP method as a label: the standard ones as-is, anything else `OTHER` (clients pick them). */
export function methodLabel(method: string): string {
  const upper = method.toUpperCase();
  return httpMethods.has(upper) ? upper : "OTHER";
}
