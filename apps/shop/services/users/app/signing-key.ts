import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";

/** The token signing algorithm: Ed25519 signatures, small keys, fast, deterministic. */
export const signingAlgorithm = "EdDSA";

/** A signing key pair in JWK form, as stored and as published. */
export interface SigningKey {
  /** Key id: the RFC 7638 thumbprint of the public key, stamped on every token as `kid`. */
  readonly kid: string;
  readonly privateJwk: JWK;
  /** Public half, with `kid`, `alg` and `use`: what the JWKS lists. */
  readonly publicJwk: JWK;
}

/** Generates a fresh Ed25519 key pair. */
export async function generateSigningKey(): Promise<SigningKey> {
  const pair = await generateKeyPair(signingAlgorithm, { crv: "Ed25519", extractable: true });
  const publicJwk = await exportJWK(pair.publicKey);
  const privateJwk = await exportJWK(pair.privateKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    privateJwk: { ...privateJwk, kid, alg: signingAlgorithm },
    publicJwk: {
      kty: publicJwk.kty,
      crv: publicJwk.crv,
      x: publicJwk.x,
      kid,
      alg: signingAlgorithm,
      use: "sig",
    },
  };
}

/** Persistence of signing keys (the port the SQL adapter implements). */
export interface SigningKeyStore {
  /** The active key, if one exists. */
  active(): Promise<SigningKey | undefined>;
  /** Stores `key` as the active key unless one is already active; never replaces one. */
  insertIfNoneActive(key: SigningKey): Promise<void>;
  /** Public keys that verify tokens still in circulation (the active one and any retired). */
  publicKeys(): Promise<JWK[]>;
}

/**
 * The active signing key, created on the very first start. Replicas starting together may each
 * generate one; only the first insert wins and everyone re-reads it, so all sign with one key.
 */
export async function ensureSigningKey(store: SigningKeyStore): Promise<SigningKey> {
  const existing = await store.active();
  if (existing) return existing;
  await store.insertIfNoneActive(await generateSigningKey());
  const winner = await store.active();
  if (!winner) throw new Error("no active signing key after inserting one");
  return winner;
}
