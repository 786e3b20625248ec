import { randomUUID } from "node:crypto";
import { Code, PlexusError, type Clock, type Db, type Logger, type Sql } from "@plexus/core";
import { isUniqueViolation } from "@plexus/storage";
import type { Order, OrderStatus } from "../domain/order.ts";
import { totalOf } from "../domain/order.ts";
import { priceLines, type PricedProduct } from "../domain/price-lines.ts";
import { placeOrderRequestOf, type PlaceOrderInput } from "../domain/place-order-request.ts";
import type { OrderEventLog } from "./order-event-log.ts";
import { orderPlacedEvent } from "./order-events.ts";
import type { IdempotencyRecord, OrderRepositoryFactory } from "./order-repository.ts";
import { placeOrderSagaName, type PlaceOrderSagaInput } from "./place-order-saga.ts";
import { nowIso } from "../../now-iso.ts";

/** Reads current prices (the catalog). Called before any transaction: it is a remote call. */
export type PriceLookup = (productIds: readonly string[]) => Promise<readonly PricedProduct[]>;

/** Starts a saga inside the caller's transaction (the saga orchestrator's `start`). */
export interface SagaStarter {
  start(
    type: string,
    input: PlaceOrderSagaInput,
    options: { id: string; tx: Sql },
  ): Promise<unknown>;
}

export interface PlaceOrderDeps {
  readonly db: Db;
  readonly orders: OrderRepositoryFactory;
  readonly events: OrderEventLog;
  readonly prices: PriceLookup;
  readonly sagas: SagaStarter;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long a key is kept after its first use (API.md: 24 h); then it makes a new order. */
  readonly idempotencyKeyTtlMs: number;
}

/** What PlaceOrder answers. */
export interface PlacedOrder {
  readonly orderId: string;
  /** PENDING for a new order; a repeat answers the order's status now. */
  readonly status: OrderStatus;
  /** False when the request repeated an earlier one (same user, key and body). */
  readonly created: boolean;
}

function keyReused(): PlexusError {
  return new PlexusError(
    Code.FailedPrecondition,
    "this Idempotency-Key was already used with another request body",
    { reason: "IDEMPOTENCY_KEY_REUSED" },
  );
}

/** The answer to a request whose key is already recorded. */
async function repeat(
  deps: PlaceOrderDeps,
  record: IdempotencyRecord,
  requestHash: string,
): Promise<PlacedOrder> {
  if (record.requestHash !== requestHash) throw keyReused();
  const order = await deps.orders(deps.db).find(record.orderId);
  if (!order) throw new PlexusError(Code.Internal, "an idempotency key points to no order");
  return { orderId: order.id, status: order.status, created: false };
}

/**
 * Places an order (PlaceOrder in orders.proto): validates, prices the lines from the catalog,
 * then writes in ONE transaction the PENDING order, the Idempotency-Key record, the OrderPlaced
 * event (outbox + log) and the `place-order` saga, which runs once that commits. The caller gets
 * the order id at once; the saga settles the order in the background.
 *
 * Idempotency: per (user, key), bound to a hash of the body, for `idempotencyKeyTtlMs` after the
 * key's first use. The same body again answers the same order; another body is refused. Concurrent
 * duplicates race on the key's primary key: the loser's transaction rolls back (no second order,
 * no second saga) and it answers the winner's order. An expired key reads as unused: its record is
 * replaced in the new order's transaction (so the race stays the same), whether or not the
 * background sweep has deleted it yet.
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR` (bad lines, unknown products, mixed
 *   currencies), `FailedPrecondition`/`IDEMPOTENCY_KEY_REUSED`, or the catalog's error when it
 *   cannot be reached (`Unavailable`, `DeadlineExceeded`: retry with the same key).
 */
export async function placeOrder(
  deps: PlaceOrderDeps,
  input: PlaceOrderInput,
): Promise<PlacedOrder> {
  const request = placeOrderRequestOf(input);
  // Used at or before this instant: expired. Fixed once, so every read and write below agrees.
  const expiredBy = new Date(deps.clock.now() - deps.idempotencyKeyTtlMs).toISOString();
  const known = await deps
    .orders(deps.db)
    .findIdempotencyKey(request.userId, request.idempotencyKey, expiredBy);
  if (known) return repeat(deps, known, request.requestHash);

  const products = await deps.prices([...new Set(request.items.map((i) => i.productId))]);
  const { lines, currency } = priceLines(request.items, products);
  const now = nowIso(deps.clock);
  const order: Order = {
    id: `ord_${randomUUID()}`,
    userId: request.userId,
    status: "PENDING",
    lines,
    totalCents: totalOf(lines),
    currency,
    failureReason: undefined,
    payment: undefined,
    createdAt: now,
    updatedAt: now,
  };
  if (order.totalCents > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new PlexusError(Code.InvalidArgument, "the order total is too large", {
      reason: "VALIDATION_ERROR",
      details: [{ field: "items", message: "the order total is too large" }],
    });
  }
  const sagaInput: PlaceOrderSagaInput = {
    orderId: order.id,
    userId: order.userId,
    lines: lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
    amountCents: order.totalCents.toString(),
    currency,
  };
  try {
    await deps.db.transaction(async (tx) => {
      const orders = deps.orders(tx);
      await orders.insert({ order, paymentToken: request.paymentToken });
      await orders.deleteExpiredIdempotencyKey(request.userId, request.idempotencyKey, expiredBy);
      await orders.insertIdempotencyKey({
        userId: request.userId,
        idempotencyKey: request.idempotencyKey,
        requestHash: request.requestHash,
        orderId: order.id,
        createdAt: now,
      });
      await deps.sagas.start(placeOrderSagaName, sagaInput, { id: order.id, tx });
      // Last: the append holds the event log's lock until the commit.
      await deps.events.record(tx, orderPlacedEvent(order));
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // A concurrent duplicate recorded the key first; its transaction has committed.
    const winner = await deps
      .orders(deps.db)
      .findIdempotencyKey(request.userId, request.idempotencyKey, expiredBy);
    if (!winner) throw error;
    return repeat(deps, winner, request.requestHash);
  }
  deps.logger.info(
    {
      orderId: order.id,
      userId: order.userId,
      lines: lines.length,
      totalCents: order.totalCents.toString(),
    },
    "order placed",
  );
  return { orderId: order.id, status: "PENDING", created: true };
}
