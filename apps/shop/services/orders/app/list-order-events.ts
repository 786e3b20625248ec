import { validationError, type FieldViolation } from "@plexus/core";
import type { LoggedEvent, OrderEventLog } from "./order-event-log.ts";

/** Events of one page when the caller asks for none in particular. */
export const defaultEventPageSize = 100;
/** Events of one page, at most. */
export const maxEventPageSize = 1000;

/**
 * The order events after a position, in write order (ListOrderEvents in orders.proto): the log a
 * read model is rebuilt from. `limit` 0 means the default page size.
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR` on a negative position or a limit out
 *   of 0..1000.
 */
export async function listOrderEvents(
  log: OrderEventLog,
  afterPosition: bigint,
  limit: number,
): Promise<LoggedEvent[]> {
  const violations: FieldViolation[] = [];
  if (afterPosition < 0n || afterPosition > BigInt(Number.MAX_SAFE_INTEGER)) {
    violations.push({ field: "afterPosition", message: "must be a position of at least 0" });
  }
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > maxEventPageSize) {
    violations.push({ field: "limit", message: `must be from 0 to ${maxEventPageSize}` });
  }
  if (violations.length > 0) throw validationError(violations);
  return log.list(Number(afterPosition), limit === 0 ? defaultEventPageSize : limit);
}
