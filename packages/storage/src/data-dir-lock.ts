import { randomUUID } from "node:crypto";
import { link, readFile, unlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { StartupError } from "@plexus/core";

/** Data directories this process holds, so a stale lock left by an earlier process with our pid is told apart. */
const heldHere = new Set<string>();

/** A held lock on a PGlite data directory; `release()` removes it. */
export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * Takes an exclusive lock file on a PGlite data directory. PGlite (unlike a Postgres server)
 * writes no postmaster.pid, and two instances on the same files corrupt them; the lock turns that
 * into a clear error. A lock whose process is gone is stale and taken over.
 */
export async function lockDataDir(lockPath: string): Promise<DataDirLock> {
  if (heldHere.has(lockPath)) {
    throw new Error(
      `storage: ${lockPath} is already held by this process; open one storage per data directory ` +
        `and share it (one PGlite per process)`,
    );
  }
  // The pid is written to a file of our own first and linked into place: the lock appears with
  // its owner in it, so nobody can read an empty lock in between and take it for a stale one.
  const draft = `${lockPath}.${process.pid}.${randomUUID()}`;
  await writeFile(draft, `${process.pid}\n`);
  try {
    await takeLock(draft, lockPath);
  } finally {
    await unlink(draft).catch(() => undefined);
  }
  heldHere.add(lockPath);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      heldHere.delete(lockPath);
      await unlink(lockPath).catch(() => undefined);
    },
  };
}

/** Links `draft` as the lock, taking over a lock whose process is gone (once). */
async function takeLock(draft: string, lockPath: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await link(draft, lockPath);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0)
        throw lockError(lockPath, error);
      const owner = Number.parseInt(await readFile(lockPath, "utf8").catch(() => ""), 10);
      if (Number.isSafeInteger(owner) && owner !== process.pid && isAlive(owner)) {
        // PGlite allows one process per data directory.
        throw new StartupError(
          `the data directory ${dirname(lockPath)} is in use by process ${owner}`,
          "stop that process, or set PLEXUS_DATA_DIR to another directory",
          { cause: error },
        );
      }
      await unlink(lockPath).catch(() => undefined);
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function lockError(lockPath: string, cause: unknown): Error {
  return new Error(`storage: cannot lock ${lockPath}`, { cause });
}
