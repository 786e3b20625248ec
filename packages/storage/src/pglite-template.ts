import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { Logger } from "@plexus/core";

/**
 * A pristine cluster of the installed PGlite, cached as a tarball: an in-memory PGlite loaded from
 * it starts in ~0.5 s instead of running initdb (~3–7 s here). That is most of the cost of a test
 * file that opens a storage.
 */
export async function templatePath(dir: string): Promise<string> {
  const pkg = new URL("../package.json", import.meta.resolve("@electric-sql/pglite"));
  const { version } = JSON.parse(await readFile(pkg, "utf8")) as { version: string };
  return join(dir, `plexus-pglite-${version}-template.tar`);
}

/** The cached tarball, or undefined when there is none yet (or it cannot be read). */
export async function readTemplate(path: string): Promise<Blob | undefined> {
  try {
    return new Blob([await readFile(path)]);
  } catch {
    return undefined;
  }
}

/** Saves a freshly initialised instance as the template; atomic, and failures only cost speed. */
export async function saveTemplate(
  pglite: PGlite,
  path: string,
  logger: Logger | undefined,
): Promise<void> {
  const partial = `${path}.${randomBytes(4).toString("hex")}.partial`;
  try {
    const dump = await pglite.dumpDataDir("none");
    await writeFile(partial, new Uint8Array(await dump.arrayBuffer()));
    await rename(partial, path);
  } catch (error) {
    logger?.debug({ err: error, path }, "could not cache the PGlite template");
    await rm(partial, { force: true });
  }
}

/** Drops a template that failed to load, so the next open rebuilds it. */
export async function discardTemplate(path: string): Promise<void> {
  await rm(path, { force: true });
}
