import type { Sql } from "@plexus/core";
import type { Order, PaymentSummary } from "../domain/order.ts";

/** The request an Idempotency-Key was first used with, and the order it made. */
export interface IdempotencyRecord {
  readonly userId: string;
  readonly idempotencyKey: string;
  readonly requestHash: string;
  readonly orderId: string;
  readonly createdAt: string;
}

/** A new order, as PlaceOrder writes it. */
export interface NewOrder {
  readonly order: Order;
  /** Kept until the order settles, for the charge step (never in the saga's input). */
  readonly paymentToken: string;
}

/**
 * Orders in the orders service's schema. Bound to a `Sql`: the database, or an open transaction
 * (every write of a state change happens in one, with its events).
 */
export interface OrderRepository {
  /** Writes the order and its lines. */
  insert(order: NewOrder): Promise<void>;
  /**
   * Records the key's first use. Fails with the storage's unique violation when the (user, key)
   * pair exists (the transaction is then aborted: re-read outside it).
   */
  insertIdempotencyKey(record: IdempotencyRecord): Promise<void>;
  /**
   * The key's record if it was first used after `usedAfter` (an RFC 3339 instant): an older one
   * has expired and reads as absent, whether or not the sweep has deleted it yet.
   */
  findIdempotencyKey(
    userId: string,
    idempotencyKey: string,
    usedAfter: string,
  ): Promise<IdempotencyRecord | undefined>;
  /**
   * Deletes the key's record if it was first used at or before `usedBy` (expired), so the key
   * can be recorded again. A live record is never touched.
   */
  deleteExpiredIdempotencyKey(
    userId: string,
    idempotencyKey: string,
    usedBy: string,
  ): Promise<void>;
  /**
   * Deletes up to `limit` records first used at or before `usedBy`, oldest first, skipping rows
   * a transaction holds; resolves how many went.
   */
  sweepIdempotencyKeys(usedBy: string, limit: number): Promise<number>;
  find(orderId: string): Promise<Order | undefined>;
  /** The card token of a PENDING order; undefined once it settled. */
  paymentToken(orderId: string): Promise<string | undefined>;
  /** Notes what is known of the payment while the order is PENDING (no effect afterwards). */
  notePayment(orderId: string, payment: PaymentSummary, at: string): Promise<void>;
  /** PENDING → CONFIRMED with its payment; false when the order was not PENDING. */
  confirm(orderId: string, payment: PaymentSummary, at: string): Promise<boolean>;
  /**
   * PENDING → CANCELLED with its reason; `payment` overwrites the noted one when given. False
   * when the order was not PENDING.
   */
  cancel(
    orderId: string,
    failureReason: string,
    payment: PaymentSummary | undefined,
    at: string,
  ): Promise<boolean>;
}

/** Makes a repository on the database or on an open transaction. */
export type OrderRepositoryFactory = (sql: Sql) => OrderRepository;
