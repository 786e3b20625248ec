import type { Sql } from "@plexus/core";

export type ProviderChargeStatus = "succeeded" | "declined" | "refunded" | "voided";

/** The provider's record of one idempotency key, once its outcome is final. */
export interface ProviderChargeRecord {
  readonly idempotencyKey: string;
  /** Undefined for a voided key (tombstone). */
  readonly id: string | undefined;
  readonly status: ProviderChargeStatus;
  readonly amount: string | undefined;
  readonly currency: string | undefined;
  readonly reference: string | undefined;
  readonly declineCode: string | undefined;
  readonly requestHash: string | undefined;
}

interface Row {
  idempotency_key: string;
  id: string | null;
  status: ProviderChargeStatus;
  amount: string | null;
  currency: string | null;
  reference: string | null;
  decline_code: string | null;
  request_hash: string | null;
}

const columns = `idempotency_key, id, status, amount::text AS amount, currency, reference,
  decline_code, request_hash`;

function toRecord(row: Row): ProviderChargeRecord {
  return {
    idempotencyKey: row.idempotency_key,
    id: row.id ?? undefined,
    status: row.status,
    amount: row.amount ?? undefined,
    currency: row.currency ?? undefined,
    reference: row.reference ?? undefined,
    declineCode: row.decline_code ?? undefined,
    requestHash: row.request_hash ?? undefined,
  };
}

/** The provider's table (`provider_charges`). Rows are never deleted. */
export interface ProviderChargeStore {
  findByKey(key: string): Promise<ProviderChargeRecord | undefined>;
  findById(id: string): Promise<ProviderChargeRecord | undefined>;
  /**
   * Records a final outcome for a key unless the key already has one (a concurrent attempt, or
   * a void), and returns the record that holds the key now: the first one written wins.
   */
  settle(record: ProviderChargeRecord, at: string): Promise<ProviderChargeRecord>;
  /** succeeded → refunded; answers the record (unchanged when it was not succeeded). */
  refund(id: string, at: string): Promise<ProviderChargeRecord | undefined>;
  /** Writes a tombstone for the key unless it has a record; answers the key's record. */
  voidKey(key: string, at: string): Promise<ProviderChargeRecord>;
}

export function createProviderChargeStore(db: Sql): ProviderChargeStore {
  async function one(where: string, params: unknown[]): Promise<ProviderChargeRecord | undefined> {
    const result = await db.query<Row>(
      `SELECT ${columns} FROM provider_charges WHERE ${where}`,
      params,
    );
    const row = result.rows[0];
    return row ? toRecord(row) : undefined;
  }

  async function mustFind(key: string): Promise<ProviderChargeRecord> {
    const record = await one("idempotency_key = $1", [key]);
    if (!record) throw new Error("provider: a settled key has no record");
    return record;
  }

  return {
    findByKey: (key) => one("idempotency_key = $1", [key]),
    findById: (id) => one("id = $1", [id]),
    async settle(record, at) {
      const inserted = await db.query<Row>(
        `INSERT INTO provider_charges (idempotency_key, id, status, amount, currency, reference,
           decline_code, request_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4::bigint, $5, $6, $7, $8, $9::timestamptz, $9::timestamptz)
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING ${columns}`,
        [
          record.idempotencyKey,
          record.id ?? null,
          record.status,
          record.amount ?? null,
          record.currency ?? null,
          record.reference ?? null,
          record.declineCode ?? null,
          record.requestHash ?? null,
          at,
        ],
      );
      const row = inserted.rows[0];
      return row ? toRecord(row) : mustFind(record.idempotencyKey);
    },
    async refund(id, at) {
      await db.query(
        `UPDATE provider_charges SET status = 'refunded', refunded_at = $2::timestamptz,
           updated_at = $2::timestamptz
         WHERE id = $1 AND status = 'succeeded'`,
        [id, at],
      );
      return one("id = $1", [id]);
    },
    async voidKey(key, at) {
      await db.query(
        `INSERT INTO provider_charges (idempotency_key, status, created_at, updated_at)
         VALUES ($1, 'voided', $2::timestamptz, $2::timestamptz)
         ON CONFLICT (idempotency_key) DO NOTHING`,
        [key, at],
      );
      return mustFind(key);
    },
  };
}
