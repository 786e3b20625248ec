import type { Db } from "@plexus/core";
import {
  createSagaOrchestrator,
  defineSaga,
  sagaMigrations,
  sagaTraceMigration,
  type SagaOrchestrator,
} from "@plexus/saga";
import { openStorage, type Storage } from "@plexus/storage";
import {
  createFakeClock,
  createTestDatabase,
  requireServer,
  type TestDatabase,
} from "@plexus/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/*
 * A saga made claimable by one process is picked up by another at once, through the commit's
 * wake-up (NOTIFY across two storages on one Postgres database), not by a poll: every
 * orchestrator here polls once an hour on a fake clock that never moves. Orchestrator A runs one
 * saga at a time, so once its slot is taken what it starts or retries waits for another process.
 */

const hour = 3_600_000;
const postgresUp = await requireServer("postgres");

describe.runIf(postgresUp)("saga wake-ups across processes on Postgres", () => {
  let database: TestDatabase;
  let storageA: Storage;
  let storageB: Storage;
  const orchestrators: SagaOrchestrator[] = [];
  const clock = createFakeClock(Date.UTC(2030, 0, 1));
  let service = 0;
  /** Steps of the "hold" saga wait for the current test's gate: the one running holds A's slot. */
  const gates: (() => void)[] = [];
  let gate: Promise<void> = Promise.resolve();

  const migrations = [
    ...sagaMigrations(1),
    { id: 2, name: "orders", sql: "CREATE TABLE orders (id text PRIMARY KEY)" },
    sagaTraceMigration(3),
  ];
  const quick = defineSaga({ name: "quick", steps: [{ name: "a", action: async () => {} }] });
  const hold = defineSaga({ name: "hold", steps: [{ name: "a", action: () => gate }] });

  beforeAll(async () => {
    database = await createTestDatabase({ prefix: "plexus_saga_wake" });
    storageA = await openStorage({ databaseUrl: database.url });
    storageB = await openStorage({ databaseUrl: database.url });
  });
  afterAll(async () => {
    for (const open of gates) open();
    await Promise.all(orchestrators.map((o) => o.destroy()));
    await storageA?.close();
    await storageB?.close();
    await database?.drop();
  });

  function orchestrator(db: Db, owner: string): SagaOrchestrator {
    const made = createSagaOrchestrator({
      db,
      definitions: [quick, hold],
      clock,
      owner,
      maxConcurrent: 1,
      pollIntervalMs: hour,
    });
    orchestrators.push(made);
    return made;
  }

  /** A and B on a fresh service schema; B polls (and listens), counting its scans. */
  async function processes() {
    const name = `wake_${++service}`;
    gate = new Promise((resolve) => gates.push(resolve));
    const dbA = await storageA.forService(name, migrations);
    const dbB = await storageB.forService(name, migrations);
    let scans = 0;
    const watchedB: Db = {
      ...dbB,
      async query(text, params) {
        if (text.includes("ORDER BY updated_at, id LIMIT")) scans++;
        return dbB.query<never>(text, params);
      },
    };
    const a = orchestrator(dbA, `a${service}`);
    const b = orchestrator(watchedB, `b${service}`);
    await b.resumeAll();
    return { dbA, a, b, scans: () => scans };
  }

  /** Takes A's only slot with a saga whose step waits for `held`. */
  async function busy(a: SagaOrchestrator): Promise<void> {
    await a.start("hold", {}, { id: `hold-${service}` });
  }

  it("runs in B at once a saga whose lease A released (A destroyed mid-step)", async () => {
    const { a, b } = await processes();
    const { id } = await a.start("hold", {}, { id: "released" });
    await a.destroy();
    const pending = b.settled(id);
    gates.at(-1)?.();
    expect((await pending).status).toBe("COMPLETED");
  });

  it("runs in B at once a saga A started in a transaction but has no slot for", async () => {
    const { dbA, a, b } = await processes();
    await busy(a);
    const id = await dbA.transaction(async (tx) => {
      await tx.query("INSERT INTO orders VALUES ('o1')");
      return (await a.start("quick", {}, { id: "o1", tx })).id;
    });
    expect((await b.settled(id)).status).toBe("COMPLETED");
  });

  it("runs in B at once a saga A started on its own but has no slot for", async () => {
    const { a, b } = await processes();
    await busy(a);
    const { id } = await a.start("quick", {}, { id: "plain" });
    expect((await b.settled(id)).status).toBe("COMPLETED");
  });

  it("resumes at once a parked saga an operator retries on a busy A", async () => {
    const { dbA, a, b } = await processes();
    await dbA.query(
      `INSERT INTO plexus_saga_instances (id, type, status, resume_status, input, step_index,
         correlation_id, created_at, updated_at)
       VALUES ('parked', 'quick', 'NEEDS_ATTENTION', 'RUNNING', '{}'::jsonb, 0, 'c', now(), now())`,
    );
    await busy(a);
    await a.retry("parked");
    expect((await b.settled("parked")).status).toBe("COMPLETED");
  });

  it("wakes nobody when the transaction that started a saga rolls back", async () => {
    const { dbA, a, b, scans } = await processes();
    expect(scans()).toBe(1); // resumeAll
    await busy(a);
    await expect(
      dbA.transaction(async (tx) => {
        await a.start("quick", {}, { id: "gone", tx });
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    const id = await dbA.transaction(
      async (tx) => (await a.start("quick", {}, { id: "kept", tx })).id,
    );
    expect((await b.settled(id)).status).toBe("COMPLETED");
    // One scan for the committed start; none for the rolled-back one.
    expect(scans()).toBe(2);
    expect(await b.get("gone")).toBeUndefined();
  });
});

describe("saga wake-ups in one process (PGlite)", () => {
  it("coalesces a burst of wake-ups: one scan at a time, at most one more after it", async () => {
    const storage = await openStorage({});
    const db = await storage.forService("burst", [...sagaMigrations(1), sagaTraceMigration(2)]);
    const firstWake = Promise.withResolvers<void>();
    const third = Promise.withResolvers<void>();
    let scans = 0;
    const watched: Db = {
      ...db,
      async query(text, params) {
        if (text.includes("ORDER BY updated_at, id LIMIT")) {
          scans++;
          if (scans === 2) await firstWake.promise;
          if (scans === 3) third.resolve();
        }
        return db.query<never>(text, params);
      },
    };
    const sagas = createSagaOrchestrator({
      db: watched,
      definitions: [],
      clock: createFakeClock(0),
      pollIntervalMs: hour,
    });
    try {
      await sagas.resumeAll();
      const wake = () => db.transaction(async (tx) => tx.notify("saga"));
      await wake(); // its scan waits for firstWake
      await wake();
      await wake();
      await new Promise((resolve) => setImmediate(resolve));
      expect(scans).toBe(2);
      firstWake.resolve();
      await third.promise;
      await new Promise((resolve) => setImmediate(resolve));
      expect(scans).toBe(3);
    } finally {
      await sagas.close();
      await storage.close();
    }
  });
});
