/**
 * Whether a value is a thenable. Steps that are usually synchronous (a handler, an in-memory
 * rate-limit store) are awaited only when they return one: each await on the hot path is a trip
 * through the microtask queue.
 */
export function isPromise<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | undefined)?.then === "function";
}
