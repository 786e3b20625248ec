/** A service's configuration as the host hands it over (`ServiceEnv.config`). */
export type Settings = Readonly<Record<string, string | undefined>>;

/**
 * Reads an integer setting: `undefined` when absent or blank (the caller applies its default), the
 * value when it is a safe integer of at least `min`.
 *
 * @throws Error naming the setting otherwise: a typo must not silently fall back to a default.
 */
export function integerSetting(settings: Settings, name: string, min: number): number | undefined {
  const raw = settings[name]?.trim();
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`${name} must be an integer of at least ${min}, got "${raw}"`);
  }
  return value;
}

/** Reads a text setting, trimmed; absent or blank gives `fallback`. */
export function stringSetting(settings: Settings, name: string, fallback: string): string {
  const trimmed = settings[name]?.trim();
  return trimmed ? trimmed : fallback;
}
