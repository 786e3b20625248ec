import type { Sql } from "@plexus/core";
import type { IdempotencyRecord, OrderRepository } from "../app/order-repository.ts";
import type {
  Order,
  OrderLine,
  OrderStatus,
  PaymentStatus,
  PaymentSummary,
} from "../domain/order.ts";
import { sqlRfc3339 } from "../../sql-rfc3339.ts";

interface OrderRow {
  id: string;
  user_id: string;
  status: OrderStatus;
  total_cents: string;
  currency: string;
  failure_reason: string | null;
  payment_status: PaymentStatus | null;
  charge_id: string | null;
  payment_amount_cents: string | null;
  created_at: string;
  updated_at: string;
}

interface LineRow {
  product_id: string;
  quantity: number;
  unit_price_cents: string;
}

interface KeyRow {
  user_id: string;
  idempotency_key: string;
  request_hash: string;
  order_id: string;
  created_at: string;
}

// Timestamps formatted in SQL and bigint as text give one shape on PGlite and pg; BigInt() keeps
// every digit.
const orderColumns = `id, user_id, status, total_cents::text AS total_cents, currency,
  failure_reason, payment_status, charge_id, payment_amount_cents::text AS payment_amount_cents,
  ${sqlRfc3339("created_at")} AS created_at, ${sqlRfc3339("updated_at")} AS updated_at`;

function paymentOf(row: OrderRow): PaymentSummary | undefined {
  if (row.payment_status === null) return undefined;
  return {
    status: row.payment_status,
    chargeId: row.charge_id ?? undefined,
    amountCents: BigInt(row.payment_amount_cents ?? row.total_cents),
  };
}

function toOrder(row: OrderRow, lines: readonly OrderLine[]): Order {
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status,
    lines,
    totalCents: BigInt(row.total_cents),
    currency: row.currency,
    failureReason: row.failure_reason ?? undefined,
    payment: paymentOf(row),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Orders, their lines and idempotency keys in the orders service's own schema. */
export function createSqlOrderRepository(sql: Sql): OrderRepository {
  return {
    async insert({ order, paymentToken }) {
      await sql.query(
        `INSERT INTO orders (id, user_id, status, total_cents, currency, payment_token,
           created_at, updated_at)
         VALUES ($1, $2, $3, $4::bigint, $5, $6, $7::timestamptz, $8::timestamptz)`,
        [
          order.id,
          order.userId,
          order.status,
          order.totalCents.toString(),
          order.currency,
          paymentToken,
          order.createdAt,
          order.updatedAt,
        ],
      );
      // One statement for every line: unnest keeps the lines' order as line numbers.
      await sql.query(
        `INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_cents)
         SELECT $1, l.line_no, l.product_id, l.quantity, l.unit_price_cents
         FROM unnest($2::text[], $3::int[], $4::bigint[])
           WITH ORDINALITY AS l(product_id, quantity, unit_price_cents, line_no)`,
        [
          order.id,
          order.lines.map((l) => l.productId),
          order.lines.map((l) => l.quantity),
          order.lines.map((l) => l.unitPriceCents.toString()),
        ],
      );
    },
    async insertIdempotencyKey(record) {
      await sql.query(
        `INSERT INTO order_idempotency_keys (user_id, idempotency_key, request_hash, order_id,
           created_at)
         VALUES ($1, $2, $3, $4, $5::timestamptz)`,
        [
          record.userId,
          record.idempotencyKey,
          record.requestHash,
          record.orderId,
          record.createdAt,
        ],
      );
    },
    async findIdempotencyKey(
      userId,
      idempotencyKey,
      usedAfter,
    ): Promise<IdempotencyRecord | undefined> {
      const result = await sql.query<KeyRow>(
        `SELECT user_id, idempotency_key, request_hash, order_id, ${sqlRfc3339("created_at")} AS created_at
         FROM order_idempotency_keys
         WHERE user_id = $1 AND idempotency_key = $2 AND created_at > $3::timestamptz`,
        [userId, idempotencyKey, usedAfter],
      );
      const row = result.rows[0];
      return row
        ? {
            userId: row.user_id,
            idempotencyKey: row.idempotency_key,
            requestHash: row.request_hash,
            orderId: row.order_id,
            createdAt: row.created_at,
          }
        : undefined;
    },
    async deleteExpiredIdempotencyKey(userId, idempotencyKey, usedBy) {
      await sql.query(
        `DELETE FROM order_idempotency_keys
         WHERE user_id = $1 AND idempotency_key = $2 AND created_at <= $3::timestamptz`,
        [userId, idempotencyKey, usedBy],
      );
    },
    async sweepIdempotencyKeys(usedBy, limit) {
      // SKIP LOCKED: a row a PlaceOrder transaction holds is left for the next sweep, rather
      // than making the sweep wait on (or deadlock with) a customer's request.
      const result = await sql.query(
        `DELETE FROM order_idempotency_keys WHERE (user_id, idempotency_key) IN (
           SELECT user_id, idempotency_key FROM order_idempotency_keys
           WHERE created_at <= $1::timestamptz
           ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [usedBy, limit],
      );
      return result.rowCount;
    },
    async find(orderId) {
      const [orders, lines] = await Promise.all([
        sql.query<OrderRow>(`SELECT ${orderColumns} FROM orders WHERE id = $1`, [orderId]),
        sql.query<LineRow>(
          `SELECT product_id, quantity, unit_price_cents::text AS unit_price_cents
           FROM order_lines WHERE order_id = $1 ORDER BY line_no`,
          [orderId],
        ),
      ]);
      const row = orders.rows[0];
      if (!row) return undefined;
      return toOrder(
        row,
        lines.rows.map((l) => ({
          productId: l.product_id,
          quantity: Number(l.quantity),
          unitPriceCents: BigInt(l.unit_price_cents),
        })),
      );
    },
    async paymentToken(orderId) {
      const result = await sql.query<{ payment_token: string | null }>(
        "SELECT payment_token FROM orders WHERE id = $1 AND status = 'PENDING'",
        [orderId],
      );
      return result.rows[0]?.payment_token ?? undefined;
    },
    async notePayment(orderId, payment, at) {
      await sql.query(
        `UPDATE orders SET payment_status = $2, charge_id = $3, payment_amount_cents = $4::bigint,
           updated_at = $5::timestamptz
         WHERE id = $1 AND status = 'PENDING'`,
        [orderId, payment.status, payment.chargeId ?? null, payment.amountCents.toString(), at],
      );
    },
    async confirm(orderId, payment, at) {
      const result = await sql.query(
        `UPDATE orders SET status = 'CONFIRMED', payment_status = $2, charge_id = $3,
           payment_amount_cents = $4::bigint, payment_token = NULL, updated_at = $5::timestamptz
         WHERE id = $1 AND status = 'PENDING'`,
        [orderId, payment.status, payment.chargeId ?? null, payment.amountCents.toString(), at],
      );
      return result.rowCount === 1;
    },
    async cancel(orderId, failureReason, payment, at) {
      // Without a new payment summary, the one noted meanwhile (by the refund) stays.
      const result = await sql.query(
        `UPDATE orders SET status = 'CANCELLED', failure_reason = $2,
           payment_status = CASE WHEN $3::text IS NULL THEN payment_status ELSE $3::text END,
           charge_id = CASE WHEN $3::text IS NULL THEN charge_id ELSE $4::text END,
           payment_amount_cents =
             CASE WHEN $3::text IS NULL THEN payment_amount_cents ELSE $5::bigint END,
           payment_token = NULL, updated_at = $6::timestamptz
         WHERE id = $1 AND status = 'PENDING'`,
        [
          orderId,
          failureReason,
          payment?.status ?? null,
          payment?.chargeId ?? null,
          payment?.amountCents.toString() ?? null,
          at,
        ],
      );
      return result.rowCount === 1;
    },
  };
}
