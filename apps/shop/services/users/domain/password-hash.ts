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
 * OWASP's Password Storage Cheat Sheet (scrypt): "a minimum CPU/memory cost parameter of (2^17),
 * a minimum block size of 8 (1024 bytes), and a parallelization parameter of 1", or one of the
 * equivalent settings it lists, among them N=2^15, r=8, p=3. We take the latter: 32 MiB a hash
 * instead of 128 MiB for three quarters of the CPU work. On a 2-core machine whose libuv pool
 * runs four hashes at once, that is 128 MiB of peak memory rather than 512 MiB, and memory
 * bandwidth, not arithmetic, is what makes 2^17 several times slower here (measured: ~0.45 s
 * against ~1.6 s under load).
 */
export const defaultScryptParams: ScryptParams = { logN: 15, r: 8, p: 3 };

/**
 * How much more CPU than the current parameters a stored hash may demand. Parameters only ever
 * go up, so an honest old hash costs less; the slack admits a hash made by a sibling setting of
 * OWASP's table. Memory gets no slack at all: scrypt's memory is what could take a process down.
 */
export const maxCpuMultiple = 4;

/** The configured parameters' own ceiling (2^18 at r=8): beyond it one login could exhaust memory. */
const maxParamsMemoryBytes = 256 * 1024 * 1024;

const saltBytes = 16;
const keyBytes = 32;

/**
 * Bytes scrypt allocates for these parameters, as OpenSSL counts them against `maxmem`: its V
 * array (128·r·N, plus two blocks) and its B array (128·r·p; the p lanes then run one by one).
 */
export function scryptMemoryBytes(params: ScryptParams): number {
  return 128 * params.r * (2 ** params.logN + params.p + 2);
}

/** scrypt's work in units of one BlockMix of r=1: N·r·p. */
function scryptCpuCost(params: ScryptParams): number {
  return 2 ** params.logN * params.r * params.p;
}

/**
 * Whether a hash with `params` may be computed by a process whose current parameters are
 * `current`: never more memory, never more than {@link maxCpuMultiple} times the CPU.
 */
export function withinBounds(params: ScryptParams, current: ScryptParams): boolean {
  return (
    params.logN >= 1 &&
    params.r >= 1 &&
    params.p >= 1 &&
    scryptMemoryBytes(params) <= scryptMemoryBytes(current) &&
    scryptCpuCost(params) <= maxCpuMultiple * scryptCpuCost(current)
  );
}

/** A parsed hash string. */
export interface PasswordHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/**
 * The PHC-style string form: `$scrypt$ln=15,r=8,p=3$<salt>$<key>`, salt and key in unpadded
 * base64url. Self-describing, so parameters can change without a migration.
 */
export function formatPasswordHash(hash: PasswordHash): string {
  const { logN, r, p } = hash.params;
  return `$scrypt$ln=${logN},r=${r},p=${p}$${hash.salt.toString("base64url")}$${hash.key.toString("base64url")}`;
}

const hashPattern =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,128})\$([A-Za-z0-9_-]{16,128})$/;

/**
 * Parses a stored hash string; `undefined` when it is not one. Syntax only: whether its
 * parameters may be computed is {@link withinBounds}'s question, asked against the current ones.
 */
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
  return {
    params: { logN: Number(ln), r: Number(r), p: Number(p) },
    salt: Buffer.from(salt, "base64url"),
    key: Buffer.from(key, "base64url"),
  };
}

function deriveKey(
  password: string,
  salt: Buffer,
  params: ScryptParams,
  length: number,
): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** params.logN,
    r: params.r,
    p: params.p,
    // Node's default cap (32 MiB) is below the default parameters' need and refuses them; the
    // bounds above already decided what may be spent.
    maxmem: scryptMemoryBytes(params),
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

/**
 * What checking a password against a stored hash found:
 * - `valid`: it matches, made with the current parameters;
 * - `valid-stale`: it matches, made with other parameters: store a fresh hash;
 * - `invalid`: it does not match;
 * - `malformed`: the stored value is not a hash this code knows;
 * - `out-of-bounds`: its parameters would cost more than {@link withinBounds} allows, so it was
 *   not computed.
 * The last two are answered like `invalid`, and worth a log line: a row was corrupted or forged.
 */
export type PasswordCheck = "valid" | "valid-stale" | "invalid" | "malformed" | "out-of-bounds";

export interface PasswordHasherOptions {
  /**
   * Parameters of new hashes, and the bounds of stored ones. Default
   * {@link defaultScryptParams} (OWASP's). Tests pass cheaper ones for speed.
   */
  readonly params?: ScryptParams;
}

/** Hashes and checks passwords with one set of current parameters. */
export interface PasswordHasher {
  readonly params: ScryptParams;
  /** Hashes with a fresh random salt; returns the self-describing string to store. */
  hash(password: string): Promise<string>;
  /** Checks `password` against `stored` in constant time (see {@link PasswordCheck}). */
  check(password: string, stored: string): Promise<PasswordCheck>;
}

/**
 * A scrypt hasher. Stored hashes keep verifying with their own parameters (so the parameters can
 * be raised without a migration) as long as those stay within bounds of the current ones, and
 * say when they should be replaced.
 *
 * @example
 * const hasher = createPasswordHasher();
 * const stored = await hasher.hash("correct horse");
 * await hasher.check("correct horse", stored); // "valid"
 */
export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  const params = options.params ?? defaultScryptParams;
  if (!withinBounds(params, params) || scryptMemoryBytes(params) > maxParamsMemoryBytes) {
    throw new RangeError("unsafe scrypt parameters");
  }
  return {
    params,
    async hash(password) {
      const salt = randomBytes(saltBytes);
      const key = await deriveKey(password, salt, params, keyBytes);
      return formatPasswordHash({ params, salt, key });
    },
    async check(password, stored) {
      const hash = parsePasswordHash(stored);
      if (!hash) return "malformed";
      if (!withinBounds(hash.params, params)) return "out-of-bounds";
      const key = await deriveKey(password, hash.salt, hash.params, hash.key.length);
      if (key.length !== hash.key.length || !timingSafeEqual(key, hash.key)) return "invalid";
      const current =
        hash.params.logN === params.logN &&
        hash.params.r === params.r &&
        hash.params.p === params.p;
      return current && hash.salt.length === saltBytes && hash.key.length === keyBytes
        ? "valid"
        : "valid-stale";
    },
  };
}
