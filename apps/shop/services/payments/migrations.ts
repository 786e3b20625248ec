import type { Migration } from "@plexus/core";

/** The payments service's schema, forward-only. */
export const paymentsMigrations: readonly Migration[] = [
  {
    id: 1,
    name: "create charges",
    sql: `
CREATE TABLE charges (
  -- Insertion order, for "oldest first" without relying on timestamps being distinct.
  seq bigint GENERATED ALWAYS AS IDENTITY,
  charge_id text PRIMARY KEY,
  order_id text NOT NULL,
  idempotency_key text NOT NULL UNIQUE,
  amount_cents bigint NOT NULL CHECK (amount_cents > 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status text NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'REFUNDED')),
  failure_reason text,
  provider_charge_id text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  CHECK (status <> 'SUCCEEDED' OR provider_charge_id IS NOT NULL)
);
CREATE INDEX charges_order_id_seq_idx ON charges (order_id, seq);
-- At most one SUCCEEDED charge per order, whatever races between keys.
CREATE UNIQUE INDEX charges_one_succeeded_per_order ON charges (order_id) WHERE status = 'SUCCEEDED';

-- One row per order ever charged or refunded. Its row lock orders Charge against RefundOrder;
-- refunded_at, once set, refuses any later charge of the order.
CREATE TABLE order_payments (
  order_id text PRIMARY KEY,
  refunded_at timestamptz
);
`,
  },
  {
    id: 2,
    name: "create provider charges",
    sql: `
-- The simulated card provider's own records (it stands for an external system; it lives in this
-- schema so that it survives a restart with the service). One row per idempotency key, written
-- when the key's outcome is final: the primary key makes "charged at most once per key" a fact.
CREATE TABLE provider_charges (
  idempotency_key text PRIMARY KEY,
  -- pch_<uuid>; null for a voided key (a tombstone: nothing was charged, nothing ever will be).
  id text UNIQUE,
  status text NOT NULL CHECK (status IN ('succeeded', 'declined', 'refunded', 'voided')),
  amount bigint,
  currency text,
  reference text,
  decline_code text,
  -- sha256 of the request (amount, currency, token, reference), to refuse a reused key.
  request_hash text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  refunded_at timestamptz
);
`,
  },
];
