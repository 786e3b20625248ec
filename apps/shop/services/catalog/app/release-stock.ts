import type { Clock } from "@plexus/core";
import type { ReleaseOutcome, StockRepository } from "./stock-repository.ts";
import { nowIso } from "../../now-iso.ts";

export interface ReleaseStockDeps {
  readonly stock: StockRepository;
  readonly clock: Clock;
}

/**
 * Gives a reservation's stock back, once (ReleaseStock in catalog.proto). Releasing an unknown id
 * is not an error: it leaves a tombstone, so the compensation of a reservation that was still on
 * its way wins over it.
 * The id met catalog.proto's rules at the RPC boundary.
 */
export async function releaseStock(
  deps: ReleaseStockDeps,
  reservationId: string,
): Promise<ReleaseOutcome> {
  return deps.stock.release(reservationId, nowIso(deps.clock));
}
