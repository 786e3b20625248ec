import type { Migration } from "@plexus/core";
import { sagaMigrations, sagaTraceMigration } from "@plexus/saga";

/**
 * The orders service's schema, forward-only. Id 1 is the saga engine's tables (its
 * `plexus_saga_v1`, given the id we choose); its later schema changes come as separate exports,
 * appended here with the next free id (5: `sagaTraceMigration`), so ids once applied never move.
 */
export const ordersMigrations: readonly Migration[] = [
  ...sagaMigrations(1),
  {
    id: 2,
    name: "create orders",
    sql: `
CREATE TABLE orders (
  id text PRIMARY KEY,
  user_id text NOT NULL,
  -- Moves only PENDING -> CONFIRMED | CANCELLED (every update says WHERE status = 'PENDING').
  status text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED')),
  total_cents bigint NOT NULL CHECK (total_cents > 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  failure_reason text,
  -- The payment summary, written when the saga learns it (confirm, refund, decline).
  payment_status text CHECK (payment_status IN ('PENDING', 'SUCCEEDED', 'REFUNDED', 'FAILED')),
  charge_id text,
  payment_amount_cents bigint,
  -- The card token, kept only while the saga may still charge: cleared when the order settles.
  -- Kept out of the saga's input so the admin API never shows it.
  payment_token text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  CHECK ((status = 'CANCELLED') = (failure_reason IS NOT NULL))
);
CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC, id DESC);

CREATE TABLE order_lines (
  order_id text NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  line_no integer NOT NULL,
  product_id text NOT NULL,
  quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
  unit_price_cents bigint NOT NULL CHECK (unit_price_cents > 0),
  PRIMARY KEY (order_id, line_no)
);

-- One row per (user, Idempotency-Key): the primary key is what makes concurrent duplicates of a
-- PlaceOrder end up with one order. request_hash is sha256 of the canonical request body.
CREATE TABLE order_idempotency_keys (
  user_id text NOT NULL,
  idempotency_key text NOT NULL,
  request_hash text NOT NULL,
  order_id text NOT NULL REFERENCES orders (id),
  created_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, idempotency_key)
);
`,
  },
  {
    id: 3,
    name: "create order events log",
    sql: `
-- Every order event, written in the same transaction as its outbox row and never pruned (the
-- outbox may drop sent rows): the history read models are rebuilt from. position = commit order
-- (appends take the log's lock, ADR 19).
CREATE TABLE order_events (
  position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  order_id text NOT NULL,
  event_type text NOT NULL,
  event jsonb NOT NULL,
  recorded_at timestamptz NOT NULL
);
CREATE INDEX order_events_order_idx ON order_events (order_id, position);
`,
  },
  {
    id: 4,
    name: "create order history read model",
    sql: `
-- The CQRS read model of a user's order history, kept by consuming the order events. A row may
-- exist before its OrderPlaced arrived (a settling event came first): then the fields only
-- OrderPlaced carries are NULL and the row is not listed yet.
CREATE TABLE order_history (
  id text PRIMARY KEY,
  user_id text NOT NULL,
  -- Never moves backwards: PENDING may become CONFIRMED or CANCELLED, those never change.
  status text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED')),
  total_cents bigint,
  item_count integer,
  created_at timestamptz,
  updated_at timestamptz NOT NULL
);
CREATE INDEX order_history_user_created_idx
  ON order_history (user_id, created_at DESC, id DESC) WHERE created_at IS NOT NULL;

-- Where a rebuild of a read model from order_events stands: the last position applied, and
-- whether a rebuild is under way (an interrupted one continues from position).
CREATE TABLE read_model_checkpoints (
  name text PRIMARY KEY,
  position bigint NOT NULL,
  rebuilding boolean NOT NULL,
  updated_at timestamptz NOT NULL
);
`,
  },
  sagaTraceMigration(5),
  {
    id: 6,
    name: "index idempotency keys by first use",
    sql: `
-- Keys expire a TTL after their first use (API.md: 24 h); the sweep deletes them oldest first.
CREATE INDEX order_idempotency_keys_created_idx ON order_idempotency_keys (created_at);
`,
  },
  {
    id: 7,
    name: "drop the rebuild checkpoints",
    sql: `
-- The order history is a projection now (ADR 19): its checkpoint is in plexus_projections, kept
-- by @plexus/projections, which builds it from the log at the first start without one.
DROP TABLE read_model_checkpoints;
`,
  },
];
