/** One product and how many units of it. */
export interface StockLine {
  readonly productId: string;
  readonly quantity: number;
}

/** A reservation request with duplicate products merged. */
export interface ReservationRequest {
  readonly reservationId: string;
  /** One line per product, in the order each product first appeared. */
  readonly lines: readonly StockLine[];
}

/** What a client asks to reserve. */
export interface ReservationInput {
  readonly reservationId: string;
  readonly lines: readonly StockLine[];
}

export type ReservationStatus = "RESERVED" | "RELEASED";

/** A reservation as stored. */
export interface Reservation {
  readonly reservationId: string;
  readonly lines: readonly StockLine[];
  readonly status: ReservationStatus;
}

/**
 * Merges lines of the same product (their quantities add up), so `[{a, 1}, {a, 2}]` takes 3 units
 * of `a` in one conditional decrement. The request met catalog.proto's rules (1..100 lines, each
 * of 1..1000 units) at the RPC boundary; the merged sum may exceed 1000, which is what the caller
 * asked for.
 */
export function mergeReservation(input: ReservationInput): ReservationRequest {
  const merged = new Map<string, number>();
  for (const line of input.lines) {
    merged.set(line.productId, (merged.get(line.productId) ?? 0) + line.quantity);
  }
  return {
    reservationId: input.reservationId,
    lines: [...merged].map(([productId, quantity]) => ({ productId, quantity })),
  };
}
