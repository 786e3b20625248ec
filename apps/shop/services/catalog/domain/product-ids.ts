import { validationError } from "@plexus/core";
import { maxProductIdLength } from "./reservation.ts";

/** Ids of one batch read, at most (one page of the listing). */
export const maxBatchIds = 100;

/**
 * Validates the ids of a batch read and drops duplicates, keeping the first occurrence's order.
 * An id that could never exist (empty, too long) is not an error: like an unknown id, it is
 * simply absent from the answer.
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR` when more than 100 ids are asked for.
 */
export function validateProductIds(ids: readonly string[]): string[] {
  if (ids.length > maxBatchIds) {
    throw validationError([{ field: "ids", message: `must hold at most ${maxBatchIds} ids` }]);
  }
  return [...new Set(ids)].filter((id) => id.length > 0 && id.length <= maxProductIdLength);
}
