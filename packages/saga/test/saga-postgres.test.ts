import type { Db } from "@plexus/core";
import {
  defineSaga,
  createSagaOrchestrator,
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
 * Several processes on one Postgres database (here: two storages, each with its own pools, and an
 * orchestrator on each): every saga is executed by one of them at a time, and a saga started in a
 * transaction runs only once that transaction committed.
 */

const postgresUp = await requireServer("postgres");

describe.runIf(postgresUp)("sagas on Postgres, several processes", () => {
  let database: TestDatabase;
  const storages: Storage[] = [];
  const orchestrators: SagaOrchestrator[] = [];
  const clock = createFakeClock(Date.UTC(2030, 0, 1));
  /** `${sagaId}:${step}` → which orchestrators ran it. */
  const runs = new Map<string, string[]>();

  const migrations = [
    ...sagaMigrations(1),
    { id: 2, name: "orders", sql: "CREATE TABLE orders (id text PRIMARY KEY)" },
    sagaTraceMigration(3),
  ];

  function sagaFor(owner: string) {
    const step = (name: string) => ({
      name,
      action: async (ctx: { sagaId: string }) => {
        const key = `${ctx.sagaId}:${name}`;
        runs.set(key, [...(runs.get(key) ?? []), owner]);
      },
    });
    return defineSaga({ name: "pg", steps: [step("a"), step("b")] });
  }

  async function processes(): Promise<[Db, SagaOrchestrator, Db, SagaOrchestrator]> {
    const made: [Db, SagaOrchestrator][] = [];
    for (const owner of ["one", "two"]) {
      const storage = await openStorage({ databaseUrl: database.url });
      storages.push(storage);
      const db = await storage.forService("orders", migrations);
      const orchestrator = createSagaOrchestrator({
        db,
        definitions: [sagaFor(owner)],
        clock,
        owner,
        pollIntervalMs: 0,
      });
      orchestrators.push(orchestrator);
      made.push([db, orchestrator]);
    }
    const [[db1, o1], [db2, o2]] = made as [[Db, SagaOrchestrator], [Db, SagaOrchestrator]];
    return [db1, o1, db2, o2];
  }

  async function completed(db: Db, ids: readonly string[]): Promise<void> {
    for (let i = 0; i < 1_000; i++) {
      const result = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM plexus_saga_instances WHERE id = ANY($1::text[]) AND status = 'COMPLETED'",
        [[...ids]],
      );
      if (result.rows[0]?.n === ids.length) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error("sagas did not complete");
  }

  let db1: Db;
  let one: SagaOrchestrator;
  let db2: Db;
  let two: SagaOrchestrator;

  beforeAll(async () => {
    database = await createTestDatabase({ prefix: "plexus_saga" });
    [db1, one, db2, two] = await processes();
  });
  afterAll(async () => {
    await Promise.all(orchestrators.map((o) => o.close()));
    await Promise.all(storages.map((s) => s.close()));
    await database?.drop();
  });

  it("shares a backlog between two processes: each saga runs once, each step once", async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `backlog-${i}`);
    for (const id of ids) {
      await db1.query(
        `INSERT INTO plexus_saga_instances (id, type, status, input, step_index, correlation_id,
           created_at, updated_at)
         VALUES ($1, 'pg', 'RUNNING', '{}'::jsonb, 0, 'c', now(), now())`,
        [id],
      );
    }
    await Promise.all([one.resumeAll(), two.resumeAll(), one.resumeAll(), two.resumeAll()]);
    await completed(db1, ids);
    for (const id of ids) {
      expect(runs.get(`${id}:a`)).toHaveLength(1);
      expect(runs.get(`${id}:b`)).toHaveLength(1);
    }
  });

  it("leaves a saga leased by a process it cannot see alone until the lease runs out", async () => {
    expect(db1.exclusive).toBe(false); // another live process may hold the lease
    await db1.query(
      `INSERT INTO plexus_saga_instances (id, type, status, input, step_index, correlation_id,
         lease_owner, lease_until, created_at, updated_at)
       VALUES ('leased', 'pg', 'RUNNING', '{}'::jsonb, 0, 'c', 'elsewhere', $1, now(), now())`,
      [clock.now() + 30_000],
    );
    expect(await one.resumeAll()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(runs.has("leased:a")).toBe(false);
    clock.advance(30_001);
    expect(await one.resumeAll()).toBe(1);
    await completed(db1, ["leased"]);
    expect(runs.get("leased:a")).toEqual(["one"]);
  });

  it("runs one instance when two processes start the same id at once", async () => {
    const results = await Promise.all([
      one.start("pg", { n: 1 }, { id: "dup" }),
      two.start("pg", { n: 1 }, { id: "dup" }),
    ]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    await completed(db2, ["dup"]);
    expect(runs.get("dup:a")).toHaveLength(1);
    expect(runs.get("dup:b")).toHaveLength(1);
  });

  it("runs a saga started in a transaction only after the commit, and never after a rollback", async () => {
    await db1.transaction(async (tx) => {
      await tx.query("INSERT INTO orders VALUES ('pg-tx')");
      await one.start("pg", {}, { id: "pg-tx", tx });
      // The execution is already waiting for this transaction's advisory lock.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(runs.has("pg-tx:a")).toBe(false);
    });
    await completed(db1, ["pg-tx"]);
    expect(runs.get("pg-tx:a")).toEqual(["one"]);

    await expect(
      db1.transaction(async (tx) => {
        await tx.query("INSERT INTO orders VALUES ('pg-rollback')");
        await one.start("pg", {}, { id: "pg-rollback", tx });
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    await one.start("pg", {}, { id: "pg-after" });
    await completed(db1, ["pg-after"]);
    expect(await one.get("pg-rollback")).toBeUndefined();
    expect(runs.has("pg-rollback:a")).toBe(false);
  });
});
