import { toolkitTables, type Db } from "@plexus/core";

/**
 * The messaging tables, created in the owning service's schema (unqualified names resolve to it
 * on both backends). Every statement is idempotent, so any number of processes may run them at
 * start-up; evolving them later means adding more idempotent statements here
 * (`ADD COLUMN IF NOT EXISTS`), never editing these.
 */
const statements: readonly string[] = [
  // Events written in the same transaction as the state change, relayed after commit.
  `CREATE TABLE IF NOT EXISTS plexus_outbox (
     position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     event_id text NOT NULL UNIQUE,
     ordering_key text NOT NULL,
     event_type text NOT NULL,
     event jsonb NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     attempts integer NOT NULL DEFAULT 0,
     last_error text,
     sent_at timestamptz
   )`,
  `CREATE INDEX IF NOT EXISTS plexus_outbox_unsent ON plexus_outbox (position)
     WHERE sent_at IS NULL`,
  // One row per relay name: which relay instance may publish, until when (epoch ms).
  `CREATE TABLE IF NOT EXISTS plexus_outbox_lease (
     name text PRIMARY KEY,
     owner text NOT NULL,
     expires_at bigint NOT NULL
   )`,
  // Event ids a consumer group has processed, written in the same transaction as the effect.
  `CREATE TABLE IF NOT EXISTS plexus_inbox (
     group_name text NOT NULL,
     event_id text NOT NULL,
     processed_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (group_name, event_id)
   )`,
  // Messages a consumer group gave up on, kept for listing and replay.
  `CREATE TABLE IF NOT EXISTS plexus_dead_letters (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     group_name text NOT NULL,
     event_id text,
     event_type text,
     event jsonb,
     raw bytea,
     error text NOT NULL,
     attempts integer NOT NULL,
     first_failed_at timestamptz NOT NULL,
     last_failed_at timestamptz NOT NULL,
     UNIQUE (group_name, event_id)
   )`,
];

/**
 * Creates the messaging tables (`plexus_outbox`, `plexus_outbox_lease`, `plexus_inbox`,
 * `plexus_dead_letters`) in the service's schema if they are missing (see core's
 * `toolkitTables`: idempotent, safe to race, cached per `Db`). Call it outside any transaction;
 * `createOutbox().start()`, `createConsumerRuntime().start()` and `handleOnce` call it for you.
 */
export const ensureMessagingTables: (db: Db) => Promise<void> = toolkitTables(
  "plexus_messaging",
  statements,
);
