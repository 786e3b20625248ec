import type { Db } from "@plexus/core";
import {
  createProjectionRunner,
  rebuildProjection,
  type ProjectionRunner,
} from "@plexus/projections";
import { openStorage, type Storage } from "@plexus/storage";
import {
  createFakeClock,
  createTestDatabase,
  requireServer,
  type TestDatabase,
} from "@plexus/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  append,
  fixtureMigrations,
  fixtureProjection,
  folded,
  foldOfLog,
  testEvent,
} from "./fixture.ts";

/*
 * Two processes (two storages, each with its own pools) on one Postgres database, each running
 * the projection, while writers in both append concurrently — each holding its transaction open a
 * little after the append, which is when an identity position taken at insert would commit after
 * a larger one already read and be skipped for good — and a rebuild runs in the middle. The append
 * lock (ADR 19) makes positions commit in order: the projection is the fold of the whole log.
 */

const postgresUp = await requireServer("postgres");

describe.runIf(postgresUp)("projections on Postgres, several processes", () => {
  let database: TestDatabase;
  const storages: Storage[] = [];
  const dbs: Db[] = [];

  beforeAll(async () => {
    database = await createTestDatabase({ prefix: "plexus_proj" });
    for (let i = 0; i < 2; i++) {
      const storage = await openStorage({ databaseUrl: database.url, poolMax: 6 });
      storages.push(storage);
      dbs.push(await storage.forService("folding", fixtureMigrations));
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(storages.map((s) => s.close()));
    await database?.drop();
  });

  it("never skips an event appended before a larger position committed (the append lock)", async () => {
    const [db, other] = dbs as [Db, Db];
    const runner = createProjectionRunner({
      db,
      projection: fixtureProjection({ name: "gap" }),
      clock: createFakeClock(0),
    });
    await runner.start();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let appended!: () => void;
    const first = new Promise<void>((resolve) => (appended = resolve));
    // A takes the smaller position and stays open; B appends after it, in another process.
    const a = db.transaction(async (tx) => {
      await append(tx, testEvent("gap-a"));
      appended();
      await gate;
    });
    await first;
    let bDone = false;
    const b = other
      .transaction((tx) => append(tx, testEvent("gap-b")))
      .then(() => {
        bDone = true;
      });
    // B either committed (no lock: a larger position before A's) or waits for A's lock.
    await vi.waitFor(
      async () => {
        const waiting = await db.query(
          "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        );
        expect(bDone || waiting.rowCount > 0).toBe(true);
      },
      { timeout: 10_000 },
    );
    await runner.catchUp();
    release();
    await Promise.all([a, b]);
    await runner.catchUp();
    const ids = await folded(db);
    expect(ids.split(",").filter((id) => id.startsWith("gap-"))).toEqual(["gap-a", "gap-b"]);
    await runner.close();
  });

  it("applies every event once and in log order under concurrent appends, replicas and a rebuild", async () => {
    const runners: ProjectionRunner[] = dbs.map((db, i) =>
      createProjectionRunner({
        db,
        projection: fixtureProjection(),
        clock: createFakeClock(0),
        batchSize: 1 + i,
      }),
    );
    await Promise.all(runners.map((r) => r.start()));
    let writing = true;
    async function writer(db: Db, w: number): Promise<void> {
      for (let i = 0; i < 25; i++) {
        await db.transaction(async (tx) => {
          await append(tx, testEvent(`w${w}-${i}`));
          await tx.query("SELECT pg_sleep($1)", [(i % 4) / 1000]);
        });
      }
    }
    async function follow(runner: ProjectionRunner): Promise<void> {
      while (writing) await runner.catchUp();
    }
    const following = runners.map(follow);
    const writers = [0, 1, 2, 3].map((w) => writer(dbs[w % 2]!, w));
    await Promise.all([
      ...writers.slice(0, 2),
      (async () => {
        await writers[2];
        await rebuildProjection(dbs[1]!, fixtureProjection(), { batchSize: 3 });
      })(),
      writers[3],
    ]);
    writing = false;
    await Promise.all(following);
    await runners[0]!.catchUp();
    const log = await foldOfLog(dbs[0]!);
    expect(log.split(",").filter((id) => id.startsWith("w"))).toHaveLength(100);
    expect(await folded(dbs[0]!)).toBe(log);
    await Promise.all(runners.map((r) => r.close()));
  }, 60_000);
});
