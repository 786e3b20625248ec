import type { Db } from "@plexus/core";
import { isUniqueViolation } from "@plexus/storage";
import type { ChargeRepository } from "../app/charge-repository.ts";
import type { Charge, ChargeStatus } from "../domain/charge.ts";
import { sqlRfc3339 } from "../../sql-rfc3339.ts";

interface ChargeRow {
  charge_id: string;
  order_id: string;
  idempotency_key: string;
  amount_cents: string;
  currency: string;
  status: ChargeStatus;
  failure_reason: string | null;
  provider_charge_id: string | null;
  created_at: string;
  updated_at: string;
}

// bigint as text and timestamps formatted in SQL (sqlRfc3339): one shape on PGlite and pg alike.
const columns = `charge_id, order_id, idempotency_key, amount_cents::text AS amount_cents,
  currency, status, failure_reason, provider_charge_id,
  ${sqlRfc3339("created_at")} AS created_at,
  ${sqlRfc3339("updated_at")} AS updated_at`;

function toCharge(row: ChargeRow): Charge {
  return {
    chargeId: row.charge_id,
    orderId: row.order_id,
    idempotencyKey: row.idempotency_key,
    amountCents: BigInt(row.amount_cents),
    currency: row.currency,
    status: row.status,
    failureReason: row.failure_reason ?? undefined,
    providerChargeId: row.provider_charge_id ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Charges in the payments service's own schema. */
export function createSqlChargeRepository(db: Db): ChargeRepository {
  async function one(where: string, params: unknown[]): Promise<Charge | undefined> {
    const result = await db.query<ChargeRow>(
      `SELECT ${columns} FROM charges WHERE ${where}`,
      params,
    );
    const row = result.rows[0];
    return row ? toCharge(row) : undefined;
  }

  return {
    findByKey: (key) => one("idempotency_key = $1", [key]),
    findSucceeded: (orderId) => one("order_id = $1 AND status = 'SUCCEEDED'", [orderId]),
    async listByOrder(orderId) {
      const result = await db.query<ChargeRow>(
        `SELECT ${columns} FROM charges WHERE order_id = $1 ORDER BY seq`,
        [orderId],
      );
      return result.rows.map(toCharge);
    },
    async insertPending(charge) {
      try {
        return await db.transaction(async (tx) => {
          // Upserting the order's row takes its lock until commit; RefundOrder takes the same
          // lock to mark the order, so either it sees this charge or this sees its mark.
          const order = await tx.query<{ refunded: boolean }>(
            `INSERT INTO order_payments (order_id) VALUES ($1)
             ON CONFLICT (order_id) DO UPDATE SET order_id = EXCLUDED.order_id
             RETURNING refunded_at IS NOT NULL AS refunded`,
            [charge.orderId],
          );
          if (order.rows[0]?.refunded) return "order-refunded" as const;
          await tx.query(
            `INSERT INTO charges (charge_id, order_id, idempotency_key, amount_cents, currency,
               status, created_at, updated_at)
             VALUES ($1, $2, $3, $4::bigint, $5, 'PENDING', $6::timestamptz, $6::timestamptz)`,
            [
              charge.chargeId,
              charge.orderId,
              charge.idempotencyKey,
              charge.amountCents.toString(),
              charge.currency,
              charge.createdAt,
            ],
          );
          return "created" as const;
        });
      } catch (error) {
        // The idempotency key's unique constraint: a concurrent duplicate recorded it first.
        if (isUniqueViolation(error)) return "key-taken";
        throw error;
      }
    },
    async markSucceeded(chargeId, providerChargeId, at) {
      try {
        const result = await db.query(
          `UPDATE charges SET status = 'SUCCEEDED', provider_charge_id = $2,
             updated_at = $3::timestamptz
           WHERE charge_id = $1 AND status = 'PENDING'`,
          [chargeId, providerChargeId, at],
        );
        return result.rowCount === 1 ? "updated" : "not-pending";
      } catch (error) {
        // charges_one_succeeded_per_order: the order is paid under another charge.
        if (isUniqueViolation(error)) return "order-has-another";
        throw error;
      }
    },
    async markFailed(chargeId, reason, at) {
      const result = await db.query(
        `UPDATE charges SET status = 'FAILED', failure_reason = $2, updated_at = $3::timestamptz
         WHERE charge_id = $1 AND status = 'PENDING'`,
        [chargeId, reason, at],
      );
      return result.rowCount === 1;
    },
    async markRefunded(chargeId, providerChargeId, at, reason) {
      const result = await db.query(
        `UPDATE charges SET status = 'REFUNDED', provider_charge_id = $2,
           failure_reason = COALESCE($4, failure_reason), updated_at = $3::timestamptz
         WHERE charge_id = $1 AND status IN ('PENDING', 'SUCCEEDED')`,
        [chargeId, providerChargeId, at, reason ?? null],
      );
      return result.rowCount === 1;
    },
    async markOrderRefunded(orderId, at) {
      await db.query(
        `INSERT INTO order_payments (order_id, refunded_at) VALUES ($1, $2::timestamptz)
         ON CONFLICT (order_id) DO UPDATE
           SET refunded_at = COALESCE(order_payments.refunded_at, EXCLUDED.refunded_at)`,
        [orderId, at],
      );
    },
    async isOrderRefunded(orderId) {
      const result = await db.query(
        "SELECT 1 FROM order_payments WHERE order_id = $1 AND refunded_at IS NOT NULL",
        [orderId],
      );
      return result.rows.length > 0;
    },
  };
}
