import { open, readFile, unlink } from "node:fs/promises";

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
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockPath, "wx");
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0)
        throw lockError(lockPath, error);
      const owner = Number.parseInt(await readFile(lockPath, "utf8").catch(() => ""), 10);
      if (Number.isSafeInteger(owner) && owner !== process.pid && isAlive(owner)) {
        throw new Error(
          `storage: the data directory is in use by process ${owner} (${lockPath}); PGlite allows ` +
            `one process per data directory: stop it, or give this process its own directory`,
          { cause: error },
        );
      }
      await unlink(lockPath).catch(() => undefined);
    }
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
