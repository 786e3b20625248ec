/** Entries of one page, at most, in every list the shop's services answer (API.md). */
export const maxPageLimit = 100;

/** One page of a list, as a caller asks for it. */
export interface PageRequest {
  /** 1-based. */
  readonly page: number;
  /** Page size, 1..`maxPageLimit`. */
  readonly limit: number;
}

/** A page request with the rows it skips. */
export interface PageWindow extends PageRequest {
  /** `(page - 1) * limit`. */
  readonly offset: number;
}

/**
 * The window of a page request, the same way in every service. Page and limit met the contract's
 * rules (page ≥ 1, limit 1..100 in the .proto files) at the RPC boundary already.
 *
 * @example
 * const { limit, offset } = pageWindow({ page: request.page, limit: request.limit });
 */
export function pageWindow(input: PageRequest): PageWindow {
  return { page: input.page, limit: input.limit, offset: (input.page - 1) * input.limit };
}
