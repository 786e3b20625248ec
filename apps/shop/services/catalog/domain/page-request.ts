import { validationError, type FieldViolation } from "@plexus/core";

export const maxPageLimit = 100;
/** Category slugs are short; a longer filter is a client bug, not a search. */
export const maxCategoryLength = 64;

/** What a client asks of a product listing. */
export interface ProductQueryInput {
  readonly page: number;
  readonly limit: number;
  readonly category: string;
}

/** A listing request that passed every rule. */
export interface ProductQuery {
  readonly page: number;
  readonly limit: number;
  /** `undefined` lists every category. */
  readonly category: string | undefined;
  /** Rows to skip: `(page - 1) * limit`. */
  readonly offset: number;
}

/**
 * Validates a listing request. The gateway clamps and validates first; the service checks again
 * because it may be called by anything that holds a client.
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR` listing every violated field.
 */
export function validateProductQuery(input: ProductQueryInput): ProductQuery {
  const violations: FieldViolation[] = [];
  if (!Number.isSafeInteger(input.page) || input.page < 1) {
    violations.push({ field: "page", message: "must be an integer of at least 1" });
  }
  if (!Number.isSafeInteger(input.limit) || input.limit < 1 || input.limit > maxPageLimit) {
    violations.push({ field: "limit", message: `must be an integer from 1 to ${maxPageLimit}` });
  }
  if (input.category.length > maxCategoryLength) {
    violations.push({
      field: "category",
      message: `must be at most ${maxCategoryLength} characters`,
    });
  }
  if (violations.length > 0) throw validationError(violations);
  return {
    page: input.page,
    limit: input.limit,
    category: input.category === "" ? undefined : input.category,
    offset: (input.page - 1) * input.limit,
  };
}
