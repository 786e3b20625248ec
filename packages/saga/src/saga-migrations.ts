import type { Migration } from "@plexus/core";

/** Table of saga instances (one row per saga), in the orchestrating service's schema. */
export const sagaInstancesTable = "plexus_saga_instances";
/** Table of step tries (one row per try of an action or compensation): the timeline. */
export const sagaStepsTable = "plexus_saga_steps";

const schemaV1 = `
CREATE TABLE ${sagaInstancesTable} (
  id text PRIMARY KEY,
  type text NOT NULL,
  status text NOT NULL
    CHECK (status IN ('RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'NEEDS_ATTENTION')),
  input jsonb NOT NULL,
  outputs jsonb NOT NULL DEFAULT '{}'::jsonb,
  step_index integer NOT NULL,
  resume_status text CHECK (resume_status IN ('RUNNING', 'COMPENSATING')),
  failure jsonb,
  failure_reason text,
  attention jsonb,
  correlation_id text NOT NULL,
  version integer NOT NULL DEFAULT 0,
  lease_owner text,
  lease_until bigint,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE INDEX ${sagaInstancesTable}_active ON ${sagaInstancesTable} (updated_at)
  WHERE status IN ('RUNNING', 'COMPENSATING');
CREATE INDEX ${sagaInstancesTable}_recent ON ${sagaInstancesTable} (created_at DESC, id DESC);
CREATE INDEX ${sagaInstancesTable}_status_recent
  ON ${sagaInstancesTable} (status, created_at DESC, id DESC);
CREATE TABLE ${sagaStepsTable} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  saga_id text NOT NULL REFERENCES ${sagaInstancesTable} (id) ON DELETE CASCADE,
  step text NOT NULL,
  step_index integer NOT NULL,
  phase text NOT NULL CHECK (phase IN ('action', 'compensation')),
  attempt integer NOT NULL,
  idempotency_key text NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  outcome text CHECK (outcome IN ('SUCCEEDED', 'RETRYING', 'FAILED', 'INTERRUPTED')),
  error jsonb
);
CREATE INDEX ${sagaStepsTable}_saga ON ${sagaStepsTable} (saga_id, id);
`;

/**
 * The saga tables, as migrations to put in the orchestrating service's own list, numbered like
 * its own (storage applies a service's migrations in id order, forward-only).
 *
 * This returns version 1 of the saga schema and will never grow: a later schema change will be
 * exported as a separate migration for the service to append with its next free id, so the ids
 * a service gave these once never move.
 *
 * @example
 * // apps/shop/services/orders/migrations.ts
 * export const migrations = [...sagaMigrations(1), { id: 2, name: "orders", sql: "CREATE TABLE orders ..." }];
 */
export function sagaMigrations(firstId: number): Migration[] {
  if (!Number.isSafeInteger(firstId) || firstId < 0) {
    throw new RangeError(`sagaMigrations: firstId must be a non-negative integer, got ${firstId}`);
  }
  return [{ id: firstId, name: "plexus_saga_v1", sql: schemaV1 }];
}

/**
 * Version 2 of the saga schema: each saga remembers the trace it was started in (the W3C
 * `traceparent` of the starting span), so the spans of its steps join that trace in whatever
 * process runs or resumes them. Append it to the service's migrations with its next free id,
 * after `sagaMigrations`; the orchestrator needs it.
 *
 * @example
 * export const migrations = [...sagaMigrations(1), { id: 2, name: "orders", sql: "..." }, sagaTraceMigration(3)];
 */
export function sagaTraceMigration(id: number): Migration {
  if (!Number.isSafeInteger(id) || id < 0) {
    throw new RangeError(`sagaTraceMigration: id must be a non-negative integer, got ${id}`);
  }
  return {
    id,
    name: "plexus_saga_v2_traceparent",
    sql: `ALTER TABLE ${sagaInstancesTable} ADD COLUMN traceparent text;`,
  };
}
