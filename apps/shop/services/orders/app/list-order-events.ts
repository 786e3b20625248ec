import type { LoggedEvent, OrderEventLog } from "./order-event-log.ts";

/** Events of one page when the caller asks for none in particular. */
export const defaultEventPageSize = 100;

/**
 * The order events after a position, in write order (ListOrderEvents in orders.proto): the log a
 * read model is rebuilt from. `limit` 0 means the default page size. Position and limit met
 * orders.proto's rules (a position of at least 0, a limit of 0..1000) at the RPC boundary.
 */
export async function listOrderEvents(
  log: OrderEventLog,
  afterPosition: bigint,
  limit: number,
): Promise<LoggedEvent[]> {
  return log.list(Number(afterPosition), limit === 0 ? defaultEventPageSize : limit);
}
