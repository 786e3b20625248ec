import { Code, PlexusError, type Clock } from "@plexus/core";
import { mergeReservation, type ReservationInput, type StockLine } from "../domain/reservation.ts";
import type { StockRepository } from "./stock-repository.ts";
import { nowIso } from "../../now-iso.ts";

export interface ReserveStockDeps {
  readonly stock: StockRepository;
  readonly clock: Clock;
}

/** The reservation held under an id. */
export interface ReservedStock {
  readonly reservationId: string;
  readonly lines: readonly StockLine[];
  /** True when the id was already reserved (this call took nothing). */
  readonly replayed: boolean;
}

function lineViolations(input: ReservationInput, productIds: readonly string[], message: string) {
  const wanted = new Set(productIds);
  return input.lines.flatMap((line, i) =>
    wanted.has(line.productId) ? [{ field: `lines[${i}].productId`, message }] : [],
  );
}

/**
 * Reserves stock for every line, all or nothing (ReserveStock in catalog.proto).
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR` on a malformed request;
 *   `FailedPrecondition`/`PRODUCT_NOT_FOUND` or `OUT_OF_STOCK` (details name the lines; nothing
 *   is taken); `Aborted`/`RESERVATION_RELEASED` when the id was released before.
 */
export async function reserveStock(
  deps: ReserveStockDeps,
  input: ReservationInput,
): Promise<ReservedStock> {
  const request = mergeReservation(input);
  const outcome = await deps.stock.reserve(request, nowIso(deps.clock));
  switch (outcome.kind) {
    case "reserved":
      return {
        reservationId: outcome.reservation.reservationId,
        lines: outcome.reservation.lines,
        replayed: outcome.replayed,
      };
    case "released":
      throw new PlexusError(Code.Aborted, "the reservation was released", {
        reason: "RESERVATION_RELEASED",
      });
    case "unknown-products":
      throw new PlexusError(Code.FailedPrecondition, "unknown product", {
        reason: "PRODUCT_NOT_FOUND",
        details: lineViolations(input, outcome.productIds, "no such product"),
      });
    case "out-of-stock":
      throw new PlexusError(Code.FailedPrecondition, "not enough stock", {
        reason: "OUT_OF_STOCK",
        details: lineViolations(input, outcome.productIds, "not enough stock"),
      });
  }
}
