import type { FieldViolation } from "@plexus/core";
import { validatePageRequest } from "../../page-request.ts";

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
  if (input.category.length > maxCategoryLength) {
    violations.push({
      field: "category",
      message: `must be at most ${maxCategoryLength} characters`,
    });
  }
  const { page, limit, offset } = validatePageRequest(input, violations);
  return { page, limit, category: input.category === "" ? undefined : input.category, offset };
}
