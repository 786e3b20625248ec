import type { Db, Sql } from "@plexus/core";
import { isUniqueViolation } from "@plexus/storage";
import type { ReleaseOutcome, ReserveOutcome, StockRepository } from "../app/stock-repository.ts";
import type {
  Reservation,
  ReservationRequest,
  ReservationStatus,
  StockLine,
} from "../domain/reservation.ts";

interface ReservationRow {
  reservation_id: string;
  lines: StockLine[];
  status: ReservationStatus;
}

/**
 * Tries of one reservation or release. A try only fails on a unique violation when a concurrent
 * duplicate committed the same id first; the next try then sees it, so two tries suffice and a
 * third is a margin.
 */
const maxTries = 3;

/** Thrown inside a transaction to roll it back with a business outcome (nothing is taken). */
class Refusal extends Error {
  readonly outcome: ReserveOutcome;
  constructor(outcome: ReserveOutcome) {
    super(outcome.kind);
    this.outcome = outcome;
  }
}

function toReservation(row: ReservationRow): Reservation {
  return {
    reservationId: row.reservation_id,
    lines: row.lines.map((l) => ({ productId: l.productId, quantity: Number(l.quantity) })),
    status: row.status,
  };
}

/**
 * Locks the products of `lines` in id order (bytewise). Every writer of stock locks in this one
 * order, so two reservations sharing products never wait on each other in a cycle on Postgres.
 */
async function lockProducts(tx: Sql, lines: readonly StockLine[]): Promise<Map<string, number>> {
  const result = await tx.query<{ id: string; stock: number }>(
    `SELECT id, stock FROM products WHERE id = ANY($1::text[]) ORDER BY id COLLATE "C" FOR UPDATE`,
    [lines.map((l) => l.productId)],
  );
  return new Map(result.rows.map((r) => [r.id, Number(r.stock)]));
}

async function reserveOnce(tx: Sql, request: ReservationRequest, at: string) {
  // The primary key claims the id first: a concurrent duplicate waits here until this
  // transaction ends, then does nothing and reads this row below (a replay costs one read more,
  // a first reservation no read at all).
  const inserted = await tx.query(
    `INSERT INTO reservations (reservation_id, lines, status, created_at, updated_at)
     VALUES ($1, $2::jsonb, 'RESERVED', $3::timestamptz, $3::timestamptz)
     ON CONFLICT (reservation_id) DO NOTHING`,
    [request.reservationId, JSON.stringify(request.lines), at],
  );
  if (inserted.rowCount === 0) {
    const existing = await tx.query<ReservationRow>(
      "SELECT reservation_id, lines, status FROM reservations WHERE reservation_id = $1",
      [request.reservationId],
    );
    const row = existing.rows[0];
    if (!row) throw new Error(`reservation ${request.reservationId} vanished while read`);
    return row.status === "RELEASED"
      ? ({ kind: "released" } as const)
      : ({ kind: "reserved", reservation: toReservation(row), replayed: true } as const);
  }
  const stock = await lockProducts(tx, request.lines);
  const unknown = request.lines.filter((l) => !stock.has(l.productId)).map((l) => l.productId);
  if (unknown.length > 0) throw new Refusal({ kind: "unknown-products", productIds: unknown });
  const short = request.lines
    .filter((l) => (stock.get(l.productId) ?? 0) < l.quantity)
    .map((l) => l.productId);
  if (short.length > 0) throw new Refusal({ kind: "out-of-stock", productIds: short });
  // Conditional decrement: even if the check above were wrong, no row goes below zero, and a
  // row left out makes the count differ and the whole reservation roll back.
  const updated = await tx.query(
    `UPDATE products AS p SET stock = p.stock - l.quantity
     FROM unnest($1::text[], $2::int[]) AS l(id, quantity)
     WHERE p.id = l.id AND p.stock >= l.quantity`,
    [request.lines.map((l) => l.productId), request.lines.map((l) => l.quantity)],
  );
  if (updated.rowCount !== request.lines.length) {
    throw new Refusal({ kind: "out-of-stock", productIds: request.lines.map((l) => l.productId) });
  }
  const reservation: Reservation = { ...request, status: "RESERVED" };
  return { kind: "reserved", reservation, replayed: false } as const;
}

async function releaseOnce(tx: Sql, reservationId: string, at: string): Promise<ReleaseOutcome> {
  const existing = await tx.query<ReservationRow>(
    "SELECT reservation_id, lines, status FROM reservations WHERE reservation_id = $1 FOR UPDATE",
    [reservationId],
  );
  const row = existing.rows[0];
  if (!row) {
    // Tombstone: a reservation with this id arriving later is refused instead of leaking stock.
    await tx.query(
      `INSERT INTO reservations (reservation_id, lines, status, created_at, updated_at, released_at)
       VALUES ($1, '[]'::jsonb, 'RELEASED', $2::timestamptz, $2::timestamptz, $2::timestamptz)`,
      [reservationId, at],
    );
    return { released: false };
  }
  if (row.status === "RELEASED") return { released: false };
  const { lines } = toReservation(row);
  await tx.query(
    `UPDATE reservations SET status = 'RELEASED', updated_at = $2::timestamptz,
       released_at = $2::timestamptz
     WHERE reservation_id = $1 AND status = 'RESERVED'`,
    [reservationId, at],
  );
  await lockProducts(tx, lines);
  await tx.query(
    `UPDATE products AS p SET stock = p.stock + l.quantity
     FROM unnest($1::text[], $2::int[]) AS l(id, quantity)
     WHERE p.id = l.id`,
    [lines.map((l) => l.productId), lines.map((l) => l.quantity)],
  );
  return { released: true };
}

/** Runs `fn` in a transaction, again when a concurrent duplicate won the primary key. */
async function withRetriedTransaction<T>(db: Db, fn: (tx: Sql) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn);
    } catch (error) {
      if (attempt < maxTries && isUniqueViolation(error)) continue;
      throw error;
    }
  }
}

/** Stock and reservations in the catalog's own schema. */
export function createSqlStockRepository(db: Db): StockRepository {
  return {
    async reserve(request, at) {
      try {
        return await withRetriedTransaction(db, (tx) => reserveOnce(tx, request, at));
      } catch (error) {
        if (error instanceof Refusal) return error.outcome;
        throw error;
      }
    },
    release(reservationId, at) {
      return withRetriedTransaction(db, (tx) => releaseOnce(tx, reservationId, at));
    },
  };
}
