import { fieldViolation } from "@plexus/rpc";
import { GetProductRequestSchema } from "../../../gen/shop/catalog/v1/catalog_pb.js";

/**
 * Drops duplicates from the ids of a batch read (at most 100, by catalog.proto), keeping the first
 * occurrence's order. An id that could never exist (one GetProduct would refuse: empty, too long)
 * is not an error: like an unknown id, it is simply absent from the answer.
 */
export function distinctProductIds(ids: readonly string[]): string[] {
  return [...new Set(ids)].filter(
    (id) => fieldViolation(GetProductRequestSchema.field.id, id) === undefined,
  );
}
