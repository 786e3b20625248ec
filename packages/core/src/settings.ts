import { StartupError } from "./startup-error.ts";

/** A service's configuration as the host hands it over (`ServiceEnv.config`). */
export type Settings = Readonly<Record<string, string | undefined>>;

/** Longest part of a bad value an error quotes: enough to spot a typo, never a wall of text. */
const quotedValueLength = 40;

/**
 * The error for a setting whose value is unusable: names the setting, quotes the value (escaped,
 * shortened; pass `secret` for tokens and passwords, which are never quoted) and says what it must
 * be. A {@link StartupError}, so `plexus up` prints it as one line and exits non-zero.
 *
 * @example
 * throw invalidSetting("PLEXUS_CACHE_MODE", raw, "one of off, memory, redis");
 */
export function invalidSetting(
  name: string,
  raw: string,
  expected: string,
  options: { secret?: boolean; fix?: string } = {},
): StartupError {
  const shown = raw.length > quotedValueLength ? `${raw.slice(0, quotedValueLength)}…` : raw;
  const got = options.secret ? `got ${raw.length} characters` : `got ${JSON.stringify(shown)}`;
  return new StartupError(
    `${name} must be ${expected}, ${got}`,
    options.fix ?? `set ${name} to ${expected}, or unset it for the default`,
  );
}

/**
 * Reads an integer setting: `undefined` when absent or blank (the caller applies its default), the
 * value when it is a safe integer of at least `min` (and at most `max`, when given).
 *
 * @throws StartupError naming the setting otherwise ({@link invalidSetting}): a typo must not
 *   silently fall back to a default.
 */
export function integerSetting(
  settings: Settings,
  name: string,
  min: number,
  max?: number,
): number | undefined {
  const raw = settings[name]?.trim();
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
    throw invalidSetting(
      name,
      raw,
      max === undefined ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/** Reads a port setting (0 asks the OS for a free port); `undefined` when absent or blank. */
export function portSetting(settings: Settings, name: string): number | undefined {
  return integerSetting(settings, name, 0, 65_535);
}

/** Reads a text setting, trimmed; absent or blank gives `fallback`. */
export function stringSetting(settings: Settings, name: string, fallback: string): string {
  const trimmed = settings[name]?.trim();
  return trimmed ? trimmed : fallback;
}
