import type { Migration } from "@plexus/core";

/** The notifications service's schema, forward-only. */
export const notificationsMigrations: readonly Migration[] = [
  {
    id: 1,
    name: "create notifications",
    sql: `
CREATE TABLE notifications (
  id text PRIMARY KEY,
  -- Insertion order: a tiebreak for notifications made in the same millisecond, so "newest
  -- first" is a total order.
  seq bigserial NOT NULL,
  user_id text NOT NULL,
  type text NOT NULL CHECK (type IN ('order.confirmed', 'order.cancelled')),
  order_id text NOT NULL,
  -- The event that caused it, for tracing a notification back to its delivery.
  event_id text NOT NULL,
  created_at timestamptz NOT NULL
);
-- The second guard of "exactly once" behind the inbox: an order is announced once per outcome
-- even if its event were republished under a new event id.
CREATE UNIQUE INDEX notifications_order_type_key ON notifications (order_id, type);
CREATE INDEX notifications_user_newest_idx ON notifications (user_id, created_at DESC, seq DESC);
`,
  },
];
