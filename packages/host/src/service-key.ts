import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Logger, Settings } from "@plexus/core";
import { parseServiceKey } from "@plexus/rpc";

/** The key file's name under the data directory. */
export const serviceKeyFile = "service.key";

export interface LoadServiceKeyOptions {
  /** The host's settings: `PLEXUS_SERVICE_KEY`, when set, is the key. */
  config: Settings;
  /** The host's data directory (`PLEXUS_DATA_DIR`), where a generated key is kept. */
  dataDir: string;
  logger?: Logger;
}

/**
 * The topology key that signs and verifies service tokens (ADR 13): `PLEXUS_SERVICE_KEY`
 * (base64url, at least 32 bytes) when set; otherwise `<dataDir>/service.key`, generated on first
 * start with mode 0600 and reused on every restart, so every host sharing the data directory (one
 * machine) shares the key with no configuration. Hosts on several machines must be given the
 * same `PLEXUS_SERVICE_KEY`.
 *
 * @throws TypeError with a sentence an operator can act on: an invalid key, a key file others
 *   can read.
 */
export async function loadServiceKey(options: LoadServiceKeyOptions): Promise<Uint8Array> {
  const configured = options.config["PLEXUS_SERVICE_KEY"]?.trim();
  if (configured) return parseServiceKey(configured);
  const dir = resolve(options.dataDir);
  const path = join(dir, serviceKeyFile);
  try {
    return await readKeyFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dir, { recursive: true });
  const key = randomBytes(32);
  // Written aside, then linked into place: no host ever reads a half-written key, and of hosts
  // starting together on one data directory the first link wins and the others use its key.
  const pending = `${path}.${randomBytes(6).toString("hex")}`;
  try {
    await writeFile(pending, `${key.toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
    await link(pending, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return readKeyFile(path);
    throw error;
  } finally {
    await rm(pending, { force: true });
  }
  options.logger?.info({ path }, "service key generated");
  return key;
}

async function readKeyFile(path: string): Promise<Uint8Array> {
  const [text, info] = await Promise.all([readFile(path, "utf8"), stat(path)]);
  if ((info.mode & 0o077) !== 0) {
    throw new TypeError(
      `${path} can be read by other users (mode ${(info.mode & 0o777).toString(8)}): ` +
        `run "chmod 600 ${path}"`,
    );
  }
  return parseServiceKey(text, path);
}
