import { randomBytes } from "node:crypto";
import { lstat, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { Logger } from "@plexus/core";
import { pgliteParsers } from "./type-parsers.ts";

/** How {@link createPglite} got its cluster (logged with "PGlite open"). */
export type PgliteOrigin = "data directory" | "template" | "initdb";

/**
 * A PGlite instance: the cluster already in `pgData` when there is one; else a new cluster (in
 * memory, or in a data directory not created yet) loaded from a cached pristine cluster of the
 * installed PGlite, a tarball in `templateDir`. Loading it costs a fraction of initdb (on a busy
 * 2-core machine ~4 s against ~10 s in memory, ~5 s against 15–28 s on disk): most of a test
 * file's storage open, and of a first `plexus up`. The first new cluster without a template runs
 * initdb and saves the template; `templateDir: false` always runs initdb.
 */
export async function createPglite(
  pgData: string | undefined,
  templateDir: string | false,
  logger: Logger | undefined,
): Promise<{ pglite: PGlite; origin: PgliteOrigin }> {
  const options = { ...(pgData === undefined ? {} : { dataDir: pgData }), parsers: pgliteParsers };
  if (pgData !== undefined && !(await isAbsentOrEmpty(pgData))) {
    return { pglite: await PGlite.create(options), origin: "data directory" };
  }
  if (templateDir === false) return { pglite: await PGlite.create(options), origin: "initdb" };
  const path = await templatePath(templateDir);
  const template = await readTemplate(path);
  if (template) {
    try {
      return {
        pglite: await PGlite.create({ ...options, loadDataDir: template }),
        origin: "template",
      };
    } catch (error) {
      logger?.warn({ err: error, path }, "cached PGlite template unusable; rebuilding it");
      await rm(path, { force: true });
      // Whatever the failed load wrote: the directory was absent or empty before it.
      if (pgData !== undefined) await rm(pgData, { recursive: true, force: true });
    }
  }
  const pglite = await PGlite.create(options);
  await saveTemplate(pglite, path, logger);
  return { pglite, origin: "initdb" };
}

/** `<dir>/plexus-pglite-<version>-template.tar`: a new PGlite version gets a template of its own. */
export async function templatePath(dir: string): Promise<string> {
  const pkg = new URL("../package.json", import.meta.resolve("@electric-sql/pglite"));
  const { version } = JSON.parse(await readFile(pkg, "utf8")) as { version: string };
  return join(dir, `plexus-pglite-${version}-template.tar`);
}

/**
 * The cached tarball, or undefined when there is none yet or it cannot be trusted. It becomes the
 * cluster of a data directory, and the default directory is the shared OS temp directory: only a
 * regular file of this user that nobody else may write is loaded (the sticky temp directory keeps
 * others from replacing it), so no other local user can plant a cluster of their making.
 */
export async function readTemplate(path: string): Promise<Blob | undefined> {
  try {
    const stats = await lstat(path);
    const uid = process.getuid?.();
    if (!stats.isFile() || (uid !== undefined && stats.uid !== uid) || stats.mode & 0o022) {
      return undefined;
    }
    return new Blob([await readFile(path)]);
  } catch {
    return undefined;
  }
}

/** Saves a freshly initialised instance as the template; atomic, and failures only cost speed. */
async function saveTemplate(
  pglite: PGlite,
  path: string,
  logger: Logger | undefined,
): Promise<void> {
  const partial = `${path}.${randomBytes(4).toString("hex")}.partial`;
  try {
    const dump = await pglite.dumpDataDir("none");
    // Its own mode, whatever the umask: readTemplate refuses a file others may write.
    await writeFile(partial, new Uint8Array(await dump.arrayBuffer()), { mode: 0o600, flag: "wx" });
    await rename(partial, path);
  } catch (error) {
    logger?.debug({ err: error, path }, "could not cache the PGlite template");
    await rm(partial, { force: true }).catch(() => undefined);
  }
}

async function isAbsentOrEmpty(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw error;
  }
}
