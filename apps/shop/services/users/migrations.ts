import type { Migration } from "@plexus/core";

/** The users service's schema, forward-only. */
export const usersMigrations: readonly Migration[] = [
  {
    id: 1,
    name: "create users",
    sql: `
CREATE TABLE users (
  id text PRIMARY KEY,
  email text NOT NULL,
  name text NOT NULL,
  password_hash text NOT NULL,
  tier text NOT NULL DEFAULT 'free',
  created_at timestamptz NOT NULL
);
-- Emails are stored as typed but unique whatever their case; also serves lookups at login.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
`,
  },
  {
    id: 2,
    name: "create signing keys",
    sql: `
CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  algorithm text NOT NULL,
  private_jwk text NOT NULL,
  public_jwk text NOT NULL,
  active boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- At most one active key: concurrent first starts race on this index and one insert wins.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (active) WHERE active;
`,
  },
  {
    id: 3,
    name: "create login failures",
    sql: `
-- The per-account limit on failed logins, shared by every replica. account is the sha256 of the
-- normalised email (known or not: fixed length, and no list of the emails strangers tried);
-- failures_ms the epoch-ms times of its recent failures, at most the policy's limit.
-- expires_ms is when the newest leaves the window: past it the row means nothing and is pruned.
CREATE TABLE login_failures (
  account text PRIMARY KEY,
  failures_ms double precision[] NOT NULL,
  expires_ms double precision NOT NULL
);
CREATE INDEX login_failures_expires_idx ON login_failures (expires_ms);
`,
  },
];
