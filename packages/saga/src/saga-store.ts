import {
  formatTraceparent,
  takeableLease,
  type LeaseTerms,
  type Sql,
  type TraceParent,
} from "@plexus/core";
import { conflictError } from "./saga-errors.ts";
import { sagaInstancesTable as instances } from "./saga-migrations.ts";
import {
  instanceColumns as columns,
  toRecord,
  toView,
  type InstanceRow,
  type SagaRecord,
} from "./saga-record.ts";
import type { SagaStatus } from "./saga-status.ts";
import { sagaTimeline } from "./saga-timeline.ts";
import type { SagaView } from "./saga-view.ts";

/** Advisory-lock class of saga ids (`SAGA` in ASCII), paired with `hashtext(id)`. */
const lockClass = 0x53414741;

/** A new saga row. */
export interface NewSaga {
  readonly id: string;
  readonly type: string;
  readonly inputJson: string;
  readonly correlationId: string;
  /** The span starting it (the caller's context's trace), if any. */
  readonly trace: TraceParent | undefined;
  readonly leaseOwner: string | null;
  readonly leaseUntil: number | null;
  readonly now: number;
}

/** The lease columns of a saga row (core's `LeaseHolder` rule). */
const lease = { ownerColumn: "lease_owner", untilColumn: "lease_until" } as const;
const claimable = takeableLease({ ...lease, now: "$1", alive: "$3" });
const claimableOrMine = takeableLease({ ...lease, owner: "$2", now: "$4", alive: "$5" });

/**
 * The wake-up channel (`Sql.notify`, `Db.listen`) of a commit that leaves a saga claimable by
 * another executor: the pollers scan at once instead of at their next poll.
 */
export const sagaChannel = "saga";

/** Filters and page of `list`. */
export interface ListFilter {
  readonly status: SagaStatus | undefined;
  readonly type: string | undefined;
  readonly limit: number;
  readonly after: { readonly createdAt: Date; readonly id: string } | undefined;
}

/**
 * Every statement on saga instances (`plexus_saga_instances`; the tries are `sagaTimeline`'s).
 * Each function takes the `Sql` to run on, so it works on the service's `Db` and inside a
 * transaction alike.
 */
export const sagaStore = {
  /**
   * Takes the saga's transaction-scoped advisory lock: `start` holds it until the caller's
   * transaction ends, and the execution's claim waits for it, so a saga never runs before (or
   * without) the commit that wrote it.
   */
  async lock(tx: Sql, id: string): Promise<void> {
    await tx.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [lockClass, id]);
  },

  /** Inserts the saga unless the id exists; returns the row that is there afterwards. */
  async insert(sql: Sql, saga: NewSaga): Promise<{ record: SagaRecord; created: boolean }> {
    const now = new Date(saga.now);
    const inserted = await sql.query<InstanceRow>(
      `INSERT INTO ${instances} (id, type, status, input, outputs, step_index, correlation_id,
         traceparent, lease_owner, lease_until, created_at, updated_at)
       VALUES ($1, $2, 'RUNNING', $3::jsonb, '{}'::jsonb, 0, $4, $5, $6, $7, $8, $8)
       ON CONFLICT (id) DO NOTHING
       RETURNING ${columns}`,
      [
        saga.id,
        saga.type,
        saga.inputJson,
        saga.correlationId,
        saga.trace === undefined ? null : formatTraceparent(saga.trace),
        saga.leaseOwner,
        saga.leaseUntil,
        now,
      ],
    );
    const row = inserted.rows[0];
    if (row) return { record: toRecord(row), created: true };
    const existing = await sagaStore.find(sql, saga.id);
    if (!existing) throw conflictError(saga.id); // deleted in between: vanishingly rare
    return { record: existing, created: false };
  },

  /** Whether the stored input equals `inputJson` as JSON (key order and spacing ignored). */
  async sameInput(sql: Sql, id: string, inputJson: string): Promise<boolean> {
    const result = await sql.query<{ same: boolean }>(
      `SELECT input = $2::jsonb AS same FROM ${instances} WHERE id = $1`,
      [id, inputJson],
    );
    return result.rows[0]?.same === true;
  },

  async find(sql: Sql, id: string): Promise<SagaRecord | undefined> {
    const result = await sql.query<InstanceRow>(
      `SELECT ${columns} FROM ${instances} WHERE id = $1`,
      [id],
    );
    const row = result.rows[0];
    return row ? toRecord(row) : undefined;
  },

  /**
   * Takes (or renews) the lease of an active saga, on `terms`, if takeable (core's
   * `takeableLease`: free, already `terms.owner`'s, run out, or its holder not alive). Atomic on
   * Postgres (a concurrent claim waits for this row and re-checks the condition), trivially on
   * PGlite. Bumps the version, so a previous holder's next write fails.
   */
  async claim(sql: Sql, id: string, terms: LeaseTerms): Promise<SagaRecord | undefined> {
    const result = await sql.query<InstanceRow>(
      `UPDATE ${instances} SET lease_owner = $2, lease_until = $3, version = version + 1
       WHERE id = $1 AND status IN ('RUNNING', 'COMPENSATING') AND ${claimableOrMine}
       RETURNING ${columns}`,
      [id, terms.owner, terms.until, terms.now, terms.alive],
    );
    const row = result.rows[0];
    return row ? toRecord(row) : undefined;
  },

  /** Active sagas whose lease is takeable on `terms`, least recently touched first. */
  async findClaimable(sql: Sql, terms: LeaseTerms, limit: number): Promise<string[]> {
    const result = await sql.query<{ id: string }>(
      `SELECT id FROM ${instances}
       WHERE status IN ('RUNNING', 'COMPENSATING') AND ${claimable}
       ORDER BY updated_at, id LIMIT $2`,
      [terms.now, limit, terms.alive],
    );
    return result.rows.map((r) => r.id);
  },

  /** Extends the leases `owner` holds on `ids`. */
  async renewLeases(sql: Sql, owner: string, ids: readonly string[], until: number): Promise<void> {
    if (ids.length === 0) return;
    await sql.query(
      `UPDATE ${instances} SET lease_until = $2 WHERE lease_owner = $1 AND id = ANY($3::text[])`,
      [owner, until, [...ids]],
    );
  },

  /**
   * Gives up `owner`'s lease on one saga (or on all its sagas when `id` is undefined); resolves
   * how many it held.
   */
  async release(sql: Sql, owner: string, id?: string): Promise<number> {
    const result = await sql.query(
      `UPDATE ${instances} SET lease_owner = NULL, lease_until = NULL
       WHERE lease_owner = $1 AND ($2::text IS NULL OR id = $2)`,
      [owner, id ?? null],
    );
    return result.rowCount;
  },

  /**
   * Checks that `record` is still this executor's (same version, lease held), bumps the version
   * and extends the lease. Returns the new version; throws a conflict otherwise. The caller
   * updates its record only once the surrounding transaction committed.
   */
  async guard(sql: Sql, record: SagaRecord, now: number, leaseUntil: number): Promise<number> {
    const result = await sql.query<{ version: number }>(
      `UPDATE ${instances} SET version = version + 1, lease_until = $4, updated_at = $5
       WHERE id = $1 AND version = $2 AND lease_owner = $3
       RETURNING version`,
      [record.id, record.version, record.leaseOwner, leaseUntil, new Date(now)],
    );
    const row = result.rows[0];
    if (!row) throw conflictError(record.id);
    return row.version;
  },

  /**
   * Writes every mutable field of `next` over the row, if it is still at `current`'s version and
   * lease. Returns the new version; throws a conflict otherwise. Nothing is changed in memory:
   * the caller applies `next` once the surrounding transaction committed.
   */
  async write(sql: Sql, current: SagaRecord, next: SagaRecord): Promise<number> {
    const result = await sql.query<{ version: number }>(
      `UPDATE ${instances} SET status = $4, outputs = $5::jsonb, step_index = $6,
         resume_status = $7, failure = $8::jsonb, failure_reason = $9, attention = $10::jsonb,
         lease_owner = $11, lease_until = $12, updated_at = $13, finished_at = $14,
         version = version + 1
       WHERE id = $1 AND version = $2 AND lease_owner IS NOT DISTINCT FROM $3
       RETURNING version`,
      [
        current.id,
        current.version,
        current.leaseOwner,
        next.status,
        JSON.stringify(next.outputs),
        next.stepIndex,
        next.resumeStatus,
        next.failure === null ? null : JSON.stringify(next.failure),
        next.failureReason,
        next.attention === null ? null : JSON.stringify(next.attention),
        next.leaseOwner,
        next.leaseUntil,
        next.updatedAt,
        next.finishedAt,
      ],
    );
    const row = result.rows[0];
    if (!row) throw conflictError(current.id);
    return row.version;
  },

  /** An operator's retry of a parked saga: back to where it stopped, unleased. */
  async unpark(sql: Sql, id: string, now: number): Promise<boolean> {
    const result = await sql.query(
      `UPDATE ${instances} SET status = resume_status, resume_status = NULL,
         lease_owner = NULL, lease_until = NULL, updated_at = $2, version = version + 1
       WHERE id = $1 AND status = 'NEEDS_ATTENTION' AND resume_status IS NOT NULL`,
      [id, new Date(now)],
    );
    return result.rowCount > 0;
  },

  async view(sql: Sql, id: string): Promise<SagaView | undefined> {
    const record = await sagaStore.find(sql, id);
    if (!record) return undefined;
    return toView(record, await sagaTimeline.attempts(sql, id));
  },

  /** Newest first, keyset-paginated on (created_at, id). Returns up to `limit + 1` rows. */
  async list(sql: Sql, filter: ListFilter): Promise<SagaRecord[]> {
    const result = await sql.query<InstanceRow>(
      `SELECT ${columns} FROM ${instances}
       WHERE ($1::text IS NULL OR status = $1)
         AND ($2::text IS NULL OR type = $2)
         AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::text))
       ORDER BY created_at DESC, id DESC
       LIMIT $5`,
      [
        filter.status ?? null,
        filter.type ?? null,
        filter.after?.createdAt ?? null,
        filter.after?.id ?? null,
        filter.limit + 1,
      ],
    );
    return result.rows.map(toRecord);
  },
};
