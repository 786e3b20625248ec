import type { Reservation, ReservationRequest } from "../domain/reservation.ts";

/** What happened to a reservation request. Nothing is taken unless it is `reserved`. */
export type ReserveOutcome =
  /** Taken now, or earlier under the same id (then nothing more was taken). */
  | { readonly kind: "reserved"; readonly reservation: Reservation; readonly replayed: boolean }
  /** The id was released before (a tombstone): a late reservation must not take stock. */
  | { readonly kind: "released" }
  /** Some products do not exist (their ids, in request order). */
  | { readonly kind: "unknown-products"; readonly productIds: readonly string[] }
  /** Some products have fewer units than asked for (their ids, in request order). */
  | { readonly kind: "out-of-stock"; readonly productIds: readonly string[] };

/** What happened to a release request. */
export interface ReleaseOutcome {
  /** True only for the call that gave the stock back; false for an unknown or released id. */
  readonly released: boolean;
}

/** Stock and reservations (the port the SQL adapter implements). */
export interface StockRepository {
  /**
   * Takes every line's units atomically, or nothing, under the reservation id. Idempotent by id,
   * also for concurrent duplicates. `at` is the RFC 3339 time recorded on the reservation.
   */
  reserve(request: ReservationRequest, at: string): Promise<ReserveOutcome>;
  /**
   * Gives a reservation's units back exactly once; an unknown id is recorded as released (a
   * tombstone) so that a reservation arriving later is refused.
   */
  release(reservationId: string, at: string): Promise<ReleaseOutcome>;
}
