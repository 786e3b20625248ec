import { createLogger, type CloudEvent, type Db, type Logger, type Projection } from "@plexus/core";
import {
  createProjectionRunner,
  rebuildProjection,
  type ProjectionRunner,
  type ProjectionRunnerOptions,
} from "@plexus/projections";
import { openStorage, type Storage } from "@plexus/storage";
import { createFakeClock, type FakeClock } from "@plexus/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  append,
  counted,
  fixtureMigrations,
  fixtureProjection,
  folded,
  testEvent,
} from "./fixture.ts";

let storage: Storage;
let db: Db;
let clock: FakeClock;
const runners: ProjectionRunner[] = [];

beforeAll(async () => {
  storage = await openStorage({});
  db = await storage.forService("stalling", fixtureMigrations);
}, 60_000);

afterAll(async () => {
  await storage?.close();
});

beforeEach(async () => {
  clock = createFakeClock(0);
  await db.query("TRUNCATE test_events RESTART IDENTITY");
  await db.query("UPDATE folded SET ids = ''");
  await db.query("DELETE FROM plexus_projections").catch(() => undefined);
});

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.close()));
});

async function appendAll(...ids: string[]): Promise<void> {
  await db.transaction(async (tx) => {
    for (const id of ids) await append(tx, testEvent(id));
  });
}

/** A projection whose apply throws on event `c` while `broken()` says so, counting its tries. */
function failingOnC(broken: () => boolean) {
  const tries = { c: 0 };
  const projection = fixtureProjection({
    beforeApply(event: CloudEvent) {
      if (event.id !== "c") return;
      tries.c++;
      if (broken()) throw new Error("cannot apply c");
    },
  });
  return { projection, tries };
}

/** A logger recording its calls: the runner's child logger is itself. */
function recordingLogger() {
  const calls = { error: vi.fn(), warn: vi.fn(), info: vi.fn() };
  const logger = { ...calls, debug: vi.fn(), child: () => logger } as unknown as Logger;
  return { logger, calls };
}

function runner(options: Partial<ProjectionRunnerOptions>): ProjectionRunner {
  const created = createProjectionRunner({
    db,
    projection: fixtureProjection(),
    logger: createLogger({ name: "stall-test", level: "silent" }),
    clock,
    batchSize: 10,
    // No jitter: the delays are 100, 200, 400, … ms.
    backoff: { initialMs: 100, maxMs: 1_000, jitter: "none" },
    ...options,
  });
  runners.push(created);
  return created;
}

describe("a projection whose apply throws", () => {
  it("is retried with backoff, not on every wake-up, and applies the event once and in order", async () => {
    let failures = 3;
    const { projection, tries } = failingOnC(() => failures-- > 0);
    const { logger, calls } = recordingLogger();
    const onFailure = vi.fn();
    const r = runner({ projection, logger, onFailure });
    await appendAll("a");
    await r.start();
    await appendAll("b", "c", "d");
    await vi.waitFor(() => expect(tries.c).toBe(1));
    // The events before the failing one are applied; the projection stops right before it.
    await vi.waitFor(async () =>
      expect(await r.status()).toMatchObject({ state: "stalled", position: 2, head: 4, lag: 2 }),
    );
    expect(await folded(db)).toBe("a,b,");
    const { failure } = await r.status();
    expect(failure).toMatchObject({
      attempts: 1,
      since: new Date(0).toISOString(),
      nextRetryAt: new Date(100).toISOString(),
      event: { id: "c", type: counted, position: 3 },
    });
    expect(failure?.error).toContain("cannot apply c");
    expect(calls.error).toHaveBeenCalledWith(
      expect.objectContaining({ event: { id: "c", type: counted, position: 3 }, attempts: 1 }),
      expect.stringContaining("stalled"),
    );
    expect(onFailure).toHaveBeenCalledTimes(1);

    // A commit's wake-up does not retry before the backoff's delay.
    await appendAll("e");
    await clock.advanceAsync(99);
    expect(tries.c).toBe(1);
    await clock.advanceAsync(1);
    await vi.waitFor(() => expect(tries.c).toBe(2));
    await clock.advanceAsync(200);
    await vi.waitFor(() => expect(tries.c).toBe(3));
    expect(calls.warn).toHaveBeenCalledTimes(2);
    await clock.advanceAsync(399);
    expect(tries.c).toBe(3);
    await clock.advanceAsync(1);
    await vi.waitFor(async () => expect(await folded(db)).toBe("a,b,c,d,e,"));
    expect(tries.c).toBe(4);
    expect(await r.status()).toEqual({
      name: "folded",
      log: "test_events",
      state: "live",
      position: 5,
      rebuilding: false,
      head: 5,
      lag: 0,
    });
    expect(calls.info).toHaveBeenCalledWith(
      expect.objectContaining({ attempts: 3 }),
      "projection recovered",
    );
    expect(onFailure).toHaveBeenCalledTimes(3);
    // Back to the poll: one timer.
    expect(clock.pendingTimers()).toBe(1);
  });

  it("stays at its position while it keeps failing, and other projections of the log go on", async () => {
    const { projection, tries } = failingOnC(() => true);
    const seen: string[] = [];
    const other: Projection = {
      name: "other",
      log: "test_events",
      types: [counted],
      apply: async (_tx, event) => void seen.push(event.id),
      reset: async () => undefined,
    };
    const stuck = runner({ projection });
    const healthy = runner({ projection: other });
    await Promise.all([stuck.start(), healthy.start()]);
    await appendAll("a", "b", "c", "d");
    await vi.waitFor(() => expect(seen).toEqual(["a", "b", "c", "d"]));
    await vi.waitFor(() => expect(tries.c).toBe(1));
    // 100, 200, 400, 800 ms, then the backoff's cap.
    for (const [retry, delayMs] of [100, 200, 400, 800, 1_000].entries()) {
      await clock.advanceAsync(delayMs);
      await vi.waitFor(() => expect(tries.c).toBe(retry + 2));
    }
    expect(await stuck.status()).toMatchObject({
      state: "stalled",
      position: 2,
      lag: 2,
      failure: { attempts: 6, event: { id: "c", position: 3 } },
    });
    expect(await folded(db)).toBe("a,b,");
    expect(await healthy.status()).toMatchObject({ state: "live", position: 4, lag: 0 });
    // Stalled after it caught up once: still ready (the host's readiness, ADR 19).
    expect(stuck.ready()).toBe(true);
  });

  it("at start: start resolves, not ready, until the event applies", async () => {
    let broken = true;
    const { projection } = failingOnC(() => broken);
    await appendAll("a", "b", "c");
    const r = runner({ projection });
    await r.start();
    expect(r.ready()).toBe(false);
    expect(await r.status()).toMatchObject({
      state: "stalled",
      failure: { event: { id: "c", position: 3 } },
    });
    // The first build applies what comes before the event too.
    expect(await folded(db)).toBe("a,b,");
    broken = false;
    await clock.advanceAsync(100);
    await vi.waitFor(() => expect(r.ready()).toBe(true));
    expect(await folded(db)).toBe("a,b,c,");
  });

  it("can be rebuilt once fixed, and the runner follows the rebuilt checkpoint", async () => {
    let broken = true;
    const { projection } = failingOnC(() => broken);
    const r = runner({ projection });
    await r.start();
    await appendAll("a", "b", "c", "d");
    await vi.waitFor(async () => expect((await r.status()).state).toBe("stalled"));
    broken = false;
    expect(await rebuildProjection(db, projection)).toMatchObject({ events: 4, position: 4 });
    expect(await folded(db)).toBe("a,b,c,d,");
    await clock.advanceAsync(100);
    await vi.waitFor(async () => expect((await r.status()).state).toBe("live"));
    await appendAll("e");
    await vi.waitFor(async () => expect(await folded(db)).toBe("a,b,c,d,e,"));
  });

  it("still fails the start when the log itself cannot be read", async () => {
    const r = runner({ projection: { ...fixtureProjection(), log: "no_such_log" } });
    await expect(r.start()).rejects.toThrow(/no_such_log/);
    expect(clock.pendingTimers()).toBe(0);
  });
});
