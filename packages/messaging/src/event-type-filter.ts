/** Decides whether an event type is one a subscription asked for. */
export type EventTypeFilter = (type: string) => boolean;

const patternShape = /^(\*|[A-Za-z0-9][A-Za-z0-9._:/-]*\*?)$/;

/**
 * Compiles subscription patterns: an exact type (`shop.orders.v1.OrderPlaced`), a prefix ending
 * in `*` (`shop.orders.v1.*`), or `*` alone for every type. Malformed patterns throw at once, so a
 * typo fails at start-up rather than silently matching nothing.
 */
export function compileTypeFilter(patterns: readonly string[]): EventTypeFilter {
  if (patterns.length === 0) throw new TypeError("a subscription needs at least one event type");
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const pattern of patterns) {
    if (!patternShape.test(pattern)) {
      throw new TypeError(`invalid event type pattern ${JSON.stringify(pattern)}`);
    }
    if (pattern.endsWith("*")) prefixes.push(pattern.slice(0, -1));
    else exact.add(pattern);
  }
  return (type) => exact.has(type) || prefixes.some((prefix) => type.startsWith(prefix));
}
