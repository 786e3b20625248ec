/**
 * A rejected promise for whatever a synchronous call threw (kept as is, not normalised): for
 * callers of a promise-returning function that must see a synchronous throw as a rejection.
 */
export async function rejectedWith(error: unknown): Promise<never> {
  throw error;
}
