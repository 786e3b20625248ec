import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/** scrypt's cost parameters; stored with every hash so they can be raised later. */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  readonly logN: number;
  /** Block size. */
  readonly r: number;
  /** Parallelisation. */
  readonly p: number;
}

/**
 * Defaults: N = 2^15, r = 8, p = 1 (32 MiB, tens of ms), OWASP's recommended floor for scrypt.
 * Raising them later only affects new hashes; old ones keep verifying with their own parameters.
 */
export const defaultScryptParams: ScryptParams = { logN: 15, r: 8, p: 1 };

const saltBytes = 16;
const keyBytes = 32;
// Bounds for parameters read back from storage: a corrupted or hostile row must not make one
// login allocate gigabytes or spin for minutes.
const maxLogN = 20;
const maxR = 32;
const maxP = 16;

/** A parsed hash string. */
export interface PasswordHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/**
 * The PHC-style string form: `$scrypt$ln=15,r=8,p=1$<salt>$<key>`, salt and key in unpadded
 * base64url. Self-describing, so parameters can change without a migration.
 */
export function formatPasswordHash(hash: PasswordHash): string {
  const { logN, r, p } = hash.params;
  return `$scrypt$ln=${logN},r=${r},p=${p}$${hash.salt.toString("base64url")}$${hash.key.toString("base64url")}`;
}

const hashPattern =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,128})\$([A-Za-z0-9_-]{16,128})$/;

/** Parses a stored hash string; `undefined` when it is not one this code can verify safely. */
export function parsePasswordHash(text: string): PasswordHash | undefined {
  const match = hashPattern.exec(text);
  if (!match) return undefined;
  const [, ln, r, p, salt, key] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const params = { logN: Number(ln), r: Number(r), p: Number(p) };
  if (!areSafeParams(params)) return undefined;
  return {
    params,
    salt: Buffer.from(salt, "base64url"),
    key: Buffer.from(key, "base64url"),
  };
}

function areSafeParams({ logN, r, p }: ScryptParams): boolean {
  return logN >= 1 && logN <= maxLogN && r >= 1 && r <= maxR && p >= 1 && p <= maxP;
}

function deriveKey(
  password: string,
  salt: Buffer,
  params: ScryptParams,
  length: number,
): Promise<Buffer> {
  const N = 2 ** params.logN;
  const options: ScryptOptions = {
    N,
    r: params.r,
    p: params.p,
    // scrypt needs about 128·N·r bytes; Node's default cap (32 MiB) is exactly the default
    // parameters' need and refuses them, so allow twice the need.
    maxmem: 256 * N * params.r,
  };
  return new Promise((resolve, reject) => {
    // The async form runs on libuv's pool: a login never blocks the event loop. NFC, so the same
    // password typed on two keyboards that compose accents differently still matches.
    scrypt(password.normalize("NFC"), salt, length, options, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** Hashes a password with a fresh random salt; returns the self-describing string to store. */
export async function hashPassword(
  password: string,
  params: ScryptParams = defaultScryptParams,
): Promise<string> {
  if (!areSafeParams(params)) throw new RangeError("unsafe scrypt parameters");
  const salt = randomBytes(saltBytes);
  const key = await deriveKey(password, salt, params, keyBytes);
  return formatPasswordHash({ params, salt, key });
}

/**
 * Whether `password` matches `stored`, compared in constant time. A stored value that does not
 * parse never matches (and is not an error: the caller answers "invalid credentials" either way).
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const hash = parsePasswordHash(stored);
  if (!hash) return false;
  const key = await deriveKey(password, hash.salt, hash.params, hash.key.length);
  return key.length === hash.key.length && timingSafeEqual(key, hash.key);
}
