import { createLogger, type Db } from "@plexus/core";
import {
  createProjectionRunner,
  readCheckpoint,
  rebuildProjection,
  type ProjectionRunner,
} from "@plexus/projections";
import { openStorage, type Storage } from "@plexus/storage";
import { createFakeClock } from "@plexus/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  append,
  counted,
  fixtureMigrations,
  fixtureProjection,
  folded,
  foldOfLog,
  ignored,
  testEvent,
} from "./fixture.ts";

let storage: Storage;
let db: Db;
const runners: ProjectionRunner[] = [];
const silent = createLogger({ name: "projection-test", level: "silent" });

beforeAll(async () => {
  storage = await openStorage({});
  db = await storage.forService("folding", fixtureMigrations);
}, 60_000);

afterAll(async () => {
  await storage?.close();
});

beforeEach(async () => {
  await db.query("TRUNCATE test_events RESTART IDENTITY");
  await db.query("UPDATE folded SET ids = ''");
  await db.query("DELETE FROM plexus_projections").catch(() => undefined);
});

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.close()));
});

async function appendAll(...ids: string[]): Promise<void> {
  await db.transaction(async (tx) => {
    for (const id of ids) await append(tx, testEvent(id, id.startsWith("x") ? ignored : counted));
  });
}

function runner(options: Partial<Parameters<typeof createProjectionRunner>[0]> = {}) {
  const created = createProjectionRunner({
    db,
    projection: fixtureProjection(),
    logger: silent,
    clock: createFakeClock(0),
    ...options,
  });
  runners.push(created);
  return created;
}

describe("the projection runner", () => {
  it("builds a projection without a checkpoint from scratch at start: reset, then the whole log", async () => {
    await appendAll("a", "b", "x1", "c");
    await db.query("UPDATE folded SET ids = 'left over,'");
    await runner({ batchSize: 2 }).start();
    expect(await folded(db)).toBe("a,b,c,");
    // Events of other types move the checkpoint too: the next look starts after them.
    expect(await readCheckpoint(db, "folded")).toEqual({ position: 4, rebuilding: false });
  });

  it("is woken by each commit that appends to its log", async () => {
    await runner().start();
    await appendAll("a", "b");
    await vi.waitFor(async () => expect(await folded(db)).toBe("a,b,"));
    await appendAll("c");
    await vi.waitFor(async () => expect(await folded(db)).toBe("a,b,c,"));
  });

  it("finds what no wake-up announced on its poll interval", async () => {
    const clock = createFakeClock(0);
    await runner({ clock, pollIntervalMs: 1_000 }).start();
    // A writer that forgot to notify (or a wake-up lost with a connection).
    await db.query(`INSERT INTO test_events (event) VALUES ($1::jsonb)`, [
      JSON.stringify(testEvent("quiet")),
    ]);
    expect(await folded(db)).toBe("");
    clock.advance(1_000);
    await vi.waitFor(async () => expect(await folded(db)).toBe("quiet,"));
  });

  it("applies each event once when replicas run it together", async () => {
    const [one, two] = [runner({ batchSize: 1 }), runner({ batchSize: 2 })];
    await Promise.all([one.start(), two.start()]);
    for (let i = 0; i < 5; i++) {
      await Promise.all([appendAll(`a${i}`, `b${i}`), one.catchUp(), two.catchUp()]);
    }
    await Promise.all([one.catchUp(), two.catchUp()]);
    expect(await folded(db)).toBe(await foldOfLog(db));
  });

  it("leaves no timer behind once closed", async () => {
    const clock = createFakeClock(0);
    const r = runner({ clock });
    await r.start();
    expect(clock.pendingTimers()).toBe(1);
    await r.close();
    expect(clock.pendingTimers()).toBe(0);
  });

  it("rejects a bad batch size or poll interval at once", () => {
    expect(() => runner({ batchSize: 0 })).toThrow(RangeError);
    expect(() => runner({ pollIntervalMs: 0 })).toThrow(RangeError);
    expect(() => runner({ projection: { ...fixtureProjection(), types: ["bad type"] } })).toThrow(
      TypeError,
    );
  });
});

describe("rebuildProjection", () => {
  it("resets the read model with its first batch (never empty while the log is not) and replays the rest", async () => {
    await appendAll("a", "b", "c", "d", "e");
    await runner().start();
    await db.query("UPDATE folded SET ids = 'wrong,'");
    const stop = new AbortController();
    let applies = 0;
    const projection = fixtureProjection({
      beforeApply() {
        if (++applies === 2) stop.abort();
      },
    });
    // Stopped after its first batch: the reset and that batch committed together.
    await expect(
      rebuildProjection(db, projection, { batchSize: 2, signal: stop.signal }),
    ).rejects.toThrow();
    expect(await folded(db)).toBe("a,b,");
    expect(await readCheckpoint(db, "folded")).toEqual({ position: 2, rebuilding: true });
    // Resumed from its checkpoint, not started over.
    expect(await rebuildProjection(db, fixtureProjection(), { batchSize: 2 })).toEqual({
      events: 3,
      position: 5,
      resumed: true,
    });
    expect(await folded(db)).toBe("a,b,c,d,e,");
    expect(await readCheckpoint(db, "folded")).toEqual({ position: 5, rebuilding: false });
    // A finished rebuild is not resumed: the next one starts over.
    expect(await rebuildProjection(db, fixtureProjection())).toEqual({
      events: 5,
      position: 5,
      resumed: false,
    });
  });

  it("is finished by a running runner when it was interrupted", async () => {
    await appendAll("a", "b", "c");
    const r = runner({ batchSize: 1 });
    await r.start();
    const stop = new AbortController();
    stop.abort();
    await expect(
      rebuildProjection(db, fixtureProjection(), { batchSize: 1, signal: stop.signal }),
    ).rejects.toThrow();
    await r.catchUp();
    expect(await folded(db)).toBe("a,b,c,");
    expect(await readCheckpoint(db, "folded")).toEqual({ position: 3, rebuilding: false });
  });

  it("builds an empty log's projection (reset only)", async () => {
    await db.query("UPDATE folded SET ids = 'stray,'");
    expect(await rebuildProjection(db, fixtureProjection())).toEqual({
      events: 0,
      position: 0,
      resumed: false,
    });
    expect(await folded(db)).toBe("");
  });
});
