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
];
