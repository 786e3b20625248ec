import { validationError, type FieldViolation } from "@plexus/core";

/** Entries of one page, at most, in every list the shop's services answer (API.md). */
export const maxPageLimit = 100;

/** One page of a list, as a caller asks for it. */
export interface PageRequest {
  /** 1-based. */
  readonly page: number;
  /** Page size, 1..`maxPageLimit`. */
  readonly limit: number;
}

/** A page request that passed every rule, with the rows it skips. */
export interface PageWindow extends PageRequest {
  /** `(page - 1) * limit`. */
  readonly offset: number;
}

/**
 * Validates a page request, the same way in every service. The gateway clamps and validates
 * first; services check again because anything holding a client may call them. A caller with
 * rules of its own passes their violations as `alsoViolated`, so one error lists every bad field.
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR` on a page below 1, a limit out of
 *   1..100 (non-integers included), or any violation in `alsoViolated`.
 * @example
 * const { limit, offset } = validatePageRequest({ page: request.page, limit: request.limit });
 */
export function validatePageRequest(
  input: PageRequest,
  alsoViolated: readonly FieldViolation[] = [],
): PageWindow {
  const violations: FieldViolation[] = [];
  if (!Number.isSafeInteger(input.page) || input.page < 1) {
    violations.push({ field: "page", message: "must be an integer of at least 1" });
  }
  if (!Number.isSafeInteger(input.limit) || input.limit < 1 || input.limit > maxPageLimit) {
    violations.push({ field: "limit", message: `must be an integer from 1 to ${maxPageLimit}` });
  }
  violations.push(...alsoViolated);
  if (violations.length > 0) throw validationError(violations);
  return { page: input.page, limit: input.limit, offset: (input.page - 1) * input.limit };
}
