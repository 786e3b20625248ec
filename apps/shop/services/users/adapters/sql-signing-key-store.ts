import type { Sql } from "@plexus/core";
import type { JWK } from "jose";
import { signingAlgorithm, type SigningKey, type SigningKeyStore } from "../app/signing-key.ts";

interface KeyRow {
  kid: string;
  private_jwk: string;
  public_jwk: string;
}

function toKey(row: KeyRow): SigningKey {
  return {
    kid: row.kid,
    privateJwk: JSON.parse(row.private_jwk) as JWK,
    publicJwk: JSON.parse(row.public_jwk) as JWK,
  };
}

/**
 * Signing keys in the users service's own schema, as JWK text. The private key lives only here
 * (and in memory): other services can never read this schema.
 */
export function createSqlSigningKeyStore(db: Sql): SigningKeyStore {
  return {
    async active() {
      const result = await db.query<KeyRow>(
        "SELECT kid, private_jwk, public_jwk FROM signing_keys WHERE active",
      );
      const row = result.rows[0];
      return row ? toKey(row) : undefined;
    },
    async insertIfNoneActive(key) {
      // The partial unique index admits one active row; a concurrent loser's insert is a no-op.
      await db.query(
        `INSERT INTO signing_keys (kid, algorithm, private_jwk, public_jwk, active)
         VALUES ($1, $2, $3, $4, true) ON CONFLICT DO NOTHING`,
        [key.kid, signingAlgorithm, JSON.stringify(key.privateJwk), JSON.stringify(key.publicJwk)],
      );
    },
    async publicKeys() {
      const result = await db.query<{ public_jwk: string }>(
        "SELECT public_jwk FROM signing_keys ORDER BY created_at, kid",
      );
      return result.rows.map((row) => JSON.parse(row.public_jwk) as JWK);
    },
  };
}
