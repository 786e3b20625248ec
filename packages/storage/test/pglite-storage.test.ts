import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { createLogger, type Db } from "@plexus/core";
import { openStorage, type Storage } from "@plexus/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/*
 * PGlite-only behaviour: one single-connection instance shared by several services, on a data
 * directory. One instance serves the whole file (its WASM start is the slow part).
 */

const counterMigrations = [
  {
    id: 1,
    name: "counter",
    sql: "CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counter VALUES (1, 0);",
  },
];

const yieldToOthers = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("PGlite storage", () => {
  let dir: string;
  let storage: Storage;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "plexus-storage-"));
    storage = await openStorage({ dataDir: dir });
  });
  afterAll(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("serialises concurrent transactions of several services without interleaving", async () => {
    const names = ["conc_a", "conc_b", "conc_c"];
    const dbs = await Promise.all(names.map((n) => storage.forService(n, counterMigrations)));
    const events: string[] = [];
    const perService = 15;

    // Read-modify-write with yields in between: any interleaving would lose increments, and a
    // role switch inside a transaction would show in current_user.
    const increment = (db: Db, i: number): Promise<void> =>
      db.transaction(async (tx) => {
        events.push(`${db.schema}#${i}:begin`);
        const { rows } = await tx.query<{ n: number; who: string }>(
          "SELECT n, current_user AS who FROM counter WHERE id = 1",
        );
        await yieldToOthers();
        expect(rows[0]!.who).toBe(`plexus_svc_${db.schema}`);
        await tx.query("UPDATE counter SET n = $1 WHERE id = 1", [rows[0]!.n + 1]);
        await yieldToOthers();
        const who = await tx.query<{ who: string }>("SELECT current_user AS who");
        expect(who.rows[0]!.who).toBe(`plexus_svc_${db.schema}`);
        events.push(`${db.schema}#${i}:end`);
      });

    // Plain queries of every service race the transactions; each must run as its own role.
    const probe = async (db: Db): Promise<void> => {
      const { rows } = await db.query<{ who: string }>("SELECT current_user AS who");
      expect(rows[0]!.who).toBe(`plexus_svc_${db.schema}`);
    };

    const work: Promise<void>[] = [];
    for (let i = 0; i < perService; i++) {
      for (const db of dbs) {
        work.push(increment(db, i), probe(db));
      }
    }
    await Promise.all(work);

    for (const db of dbs) {
      const { rows } = await db.query<{ n: number }>("SELECT n FROM counter WHERE id = 1");
      expect(rows[0]!.n).toBe(perService);
    }
    expect(events).toHaveLength(2 * perService * dbs.length);
    for (let k = 0; k < events.length; k += 2) {
      expect(events[k]!.replace(":begin", "")).toBe(events[k + 1]!.replace(":end", ""));
    }
  });

  it("keeps a failed transaction from leaking into the next one", async () => {
    const db = await storage.forService("conc_fail", counterMigrations);
    const results = await Promise.allSettled([
      db.transaction(async (tx) => {
        await tx.query("UPDATE counter SET n = 100 WHERE id = 1");
        await yieldToOthers();
        throw new Error("abandon");
      }),
      db.transaction((tx) => tx.query("UPDATE counter SET n = n + 1 WHERE id = 1")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled"]);
    const { rows } = await db.query<{ n: number }>("SELECT n FROM counter WHERE id = 1");
    expect(rows[0]!.n).toBe(1);
  });

  it("re-asserts the service role after a statement that changed it", async () => {
    const db = await storage.forService("conc_reset", []);
    // On the embedded PGlite the session user is a superuser, so this is allowed; the
    // next statement of any service must still run under its own role.
    await db.query("RESET ROLE");
    const { rows } = await db.query<{ who: string }>("SELECT current_user AS who");
    expect(rows[0]!.who).toBe("plexus_svc_conc_reset");
  });

  it("refuses a second storage on the same data directory", async () => {
    await expect(openStorage({ dataDir: dir })).rejects.toThrow(/already held by this process/);
  });

  it("keeps data across close and reopen, applying only new migrations", async () => {
    const db = await storage.forService("persist", counterMigrations);
    await db.query("UPDATE counter SET n = 41 WHERE id = 1");
    await storage.close();

    const started = performance.now();
    storage = await openStorage({ dataDir: dir });
    const reopened = await storage.forService("persist", [
      ...counterMigrations,
      { id: 2, name: "bump", sql: "UPDATE counter SET n = n + 1" },
    ]);
    console.info(
      `PGlite reopen + forService: ${Math.round(performance.now() - started)} ms (informational)`,
    );
    const { rows } = await reopened.query<{ n: number }>("SELECT n FROM counter");
    expect(rows).toEqual([{ n: 42 }]);
    // Other services' data and migration history survived too.
    const other = await storage.forService("conc_a", counterMigrations);
    expect((await other.query("SELECT n FROM counter")).rows).toEqual([{ n: 15 }]);
  });

  it("takes over a lock left by a process that no longer exists", async () => {
    await storage.close();
    // Above the Linux pid_max: no such process can exist.
    await writeFile(join(dir, "storage.lock"), "4194305\n");
    storage = await openStorage({ dataDir: dir });
    await storage.ping();
    // The lock holds our pid, and the draft it was linked from is gone.
    expect(await readFile(join(dir, "storage.lock"), "utf8")).toBe(`${process.pid}\n`);
    expect((await readdir(dir)).filter((f) => f.startsWith("storage.lock"))).toEqual([
      "storage.lock",
    ]);
  });
});

describe("PGlite data directory lock", () => {
  it("refuses a data directory held by another live process", async () => {
    const other = await mkdtemp(join(tmpdir(), "plexus-locked-"));
    try {
      // The parent process (the test runner) is alive and is not us.
      await writeFile(join(other, "storage.lock"), `${process.ppid}\n`);
      await expect(openStorage({ dataDir: other })).rejects.toThrow(
        new RegExp(`in use by process ${process.ppid}`),
      );
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

/** The template's file name for the installed PGlite. */
async function templateFile(): Promise<string> {
  const pkg = new URL("../package.json", import.meta.resolve("@electric-sql/pglite"));
  const { version } = JSON.parse(await readFile(pkg, "utf8")) as { version: string };
  return `plexus-pglite-${version}-template.tar`;
}

describe("PGlite in-memory template", () => {
  it("rebuilds a cached template that cannot be loaded, then loads the new one", async () => {
    const templateDir = await mkdtemp(join(tmpdir(), "plexus-template-"));
    try {
      const file = await templateFile();
      await writeFile(join(templateDir, file), "not a tarball");

      const first = await openStorage({ templateDir });
      const db = await first.forService("tpl", []);
      expect((await db.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
      await first.close();
      expect(await readdir(templateDir)).toEqual([file]);
      expect((await stat(join(templateDir, file))).size).toBeGreaterThan(1_000_000);

      const second = await openStorage({ templateDir });
      await second.ping();
      await second.close();
    } finally {
      await rm(templateDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("PGlite data directory template", () => {
  it("gives a new data directory the template's pristine cluster, and a used one its own", async () => {
    const root = await mkdtemp(join(tmpdir(), "plexus-dir-template-"));
    const templateDir = join(root, "templates");
    const origins: unknown[] = [];
    const logger = createLogger({
      name: "template-test",
      level: "info",
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split("\n").filter(Boolean)) {
            const entry = JSON.parse(line) as { msg: string; from?: string };
            if (entry.msg === "PGlite open") origins.push(entry.from);
          }
          done();
        },
      }),
    });
    const open = (dir: string) => openStorage({ dataDir: join(root, dir), templateDir, logger });
    try {
      // A tarball that loads but is no cluster: the load fails after writing into the directory.
      const bad = join(root, "bad");
      await mkdir(bad);
      await writeFile(join(bad, "PG_VERSION"), "18\n");
      await mkdir(templateDir);
      const file = join(templateDir, await templateFile());
      await promisify(execFile)("tar", ["-cf", file, "-C", bad, "PG_VERSION"]);

      const first = await open("first");
      await (await first.forService("only_first", [])).query("SELECT 1");
      await first.close();
      expect((await stat(file)).size).toBeGreaterThan(1_000_000);

      const second = await open("second");
      const db = await second.forService("second", counterMigrations);
      const namespaces = await db.query(
        "SELECT nspname FROM pg_namespace WHERE nspname = 'only_first'",
      );
      expect(namespaces.rows).toEqual([]);
      await db.query("UPDATE counter SET n = 7");
      await second.close();

      const again = await open("second");
      const kept = await again.forService("second", counterMigrations);
      expect((await kept.query("SELECT n FROM counter")).rows).toEqual([{ n: 7 }]);
      await again.close();
      expect(origins).toEqual(["initdb", "template", "data directory"]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }, 120_000);
});
