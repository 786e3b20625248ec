/** What a censored value is replaced with. */
export const CENSORED = "[REDACTED]";

/** Secret key names, normalised (lowercase, without `-` and `_`). */
const secretNames = new Set([
  "password",
  "passwd",
  "passwordhash",
  "authorization",
  "proxyauthorization",
  "cookie",
  "setcookie",
  "secret",
  "privatekey",
  "apikey",
  "xapikey",
  "paymentmethod",
  "creditcard",
  "cardnumber",
]);

/** Suffixes that make any key secret (`accessToken`, `client_secret`, `newPassword`). */
const secretSuffixes = ["token", "secret", "password"];

/**
 * Whether a key names a secret, whatever its case or separators: `Authorization`,
 * `AUTHORIZATION`, `set-cookie`, `access_token` and `refreshToken` all do.
 */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_]/g, "");
  return secretNames.has(k) || secretSuffixes.some((s) => k.endsWith(s));
}

const maxDepth = 6;

/**
 * Returns `value` with the values of secret keys replaced by {@link CENSORED}, in plain objects
 * and arrays up to a few levels deep. Copy-on-write: the caller's object is never modified, and
 * an object without secrets is returned as is (no allocation on the common path).
 */
export function censorSecrets<T>(value: T): T {
  return censor(value, 0) as T;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function censor(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== "object" || depth > maxDepth) return value;
  if (Array.isArray(value)) {
    const list = value as readonly unknown[];
    let copy: unknown[] | undefined;
    for (let i = 0; i < list.length; i++) {
      const item = list[i];
      const censored = censor(item, depth + 1);
      if (censored !== item) {
        copy ??= [...list];
        copy[i] = censored;
      }
    }
    return copy ?? list;
  }
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const item = value[key];
    const censored =
      isSecretKey(key) && item !== undefined && item !== null ? CENSORED : censor(item, depth + 1);
    if (censored !== item) {
      copy ??= { ...value };
      copy[key] = censored;
    }
  }
  return copy ?? value;
}
