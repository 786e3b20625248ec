import { validationError, type FieldViolation } from "@plexus/core";

/** Lines of one reservation, at most this many (API.md: an order has at most 100 lines). */
export const maxReservationLines = 100;
/** Units of one line, at most (API.md: quantity 1..1000). */
export const maxLineQuantity = 1000;
/** Reservation ids are idempotency keys (order ids); anything longer is a client bug. */
export const maxReservationIdLength = 255;
/** Product ids are short slugs; a longer one could never match and is refused early. */
export const maxProductIdLength = 255;

/** One product and how many units of it. */
export interface StockLine {
  readonly productId: string;
  readonly quantity: number;
}

/** A reservation request that passed every rule, with duplicate products merged. */
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

function checkReservationId(id: string, violations: FieldViolation[]): void {
  if (id.length === 0 || id.length > maxReservationIdLength) {
    violations.push({
      field: "reservationId",
      message: `must be 1 to ${maxReservationIdLength} characters`,
    });
  }
}

/**
 * Validates a reservation and merges lines of the same product (their quantities add up), so
 * `[{a, 1}, {a, 2}]` takes 3 units of `a` in one conditional decrement. Each line's quantity is
 * checked as sent (1..1000); the merged sum may exceed 1000, which is what the caller asked for.
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR` listing every violated field.
 */
export function validateReservation(input: ReservationInput): ReservationRequest {
  const violations: FieldViolation[] = [];
  checkReservationId(input.reservationId, violations);
  if (input.lines.length === 0) {
    violations.push({ field: "lines", message: "must hold at least one line" });
  } else if (input.lines.length > maxReservationLines) {
    violations.push({ field: "lines", message: `must hold at most ${maxReservationLines} lines` });
  }
  const merged = new Map<string, number>();
  input.lines.slice(0, maxReservationLines).forEach((line, i) => {
    let valid = true;
    if (line.productId.length === 0 || line.productId.length > maxProductIdLength) {
      violations.push({
        field: `lines[${i}].productId`,
        message: `must be 1 to ${maxProductIdLength} characters`,
      });
      valid = false;
    }
    if (
      !Number.isSafeInteger(line.quantity) ||
      line.quantity < 1 ||
      line.quantity > maxLineQuantity
    ) {
      violations.push({
        field: `lines[${i}].quantity`,
        message: `must be an integer from 1 to ${maxLineQuantity}`,
      });
      valid = false;
    }
    if (valid) merged.set(line.productId, (merged.get(line.productId) ?? 0) + line.quantity);
  });
  if (violations.length > 0) throw validationError(violations);
  return {
    reservationId: input.reservationId,
    lines: [...merged].map(([productId, quantity]) => ({ productId, quantity })),
  };
}

/**
 * Validates a release request: just the id.
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR`.
 */
export function validateReservationId(reservationId: string): string {
  const violations: FieldViolation[] = [];
  checkReservationId(reservationId, violations);
  if (violations.length > 0) throw validationError(violations);
  return reservationId;
}
