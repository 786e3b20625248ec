import { openStorage, type Storage } from "@plexus/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  postgresAvailable,
  type TestDatabase,
} from "./postgres-test-database.ts";

/** Postgres-only behaviour: several processes (here: storages with their own pools) on one database. */

const postgresUp = await postgresAvailable();

describe("Postgres storage: opening", () => {
  it("fails at once, without the password, when the server is unreachable", async () => {
    const error = await openStorage({
      databaseUrl: "postgres://postgres:s3cret@127.0.0.1:1/nowhere",
      connectTimeoutMs: 1000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      /cannot reach Postgres at postgres:\/\/postgres:\*\*\*@/,
    );
    expect((error as Error).message).not.toContain("s3cret");
  });

  it("refuses a connection string that is not a postgres URL", async () => {
    await expect(openStorage({ databaseUrl: "host=localhost user=x" })).rejects.toThrow(
      /postgres:\/\//,
    );
  });
});

describe.skipIf(!postgresUp)("Postgres storage: several processes", () => {
  let database: TestDatabase;
  const storages: Storage[] = [];
  const open = async (): Promise<Storage> => {
    const storage = await openStorage({ databaseUrl: database.url });
    storages.push(storage);
    return storage;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(storages.map((s) => s.close()));
    await database?.drop();
  });

  it("migrates one schema from two processes at once, each migration exactly once", async () => {
    const [first, second] = await Promise.all([open(), open()]);
    const migrations = [
      {
        id: 1,
        name: "slow-create",
        // The sleep widens the window in which a second migrator would collide.
        sql: "SELECT pg_sleep(0.2); CREATE TABLE runs (n serial PRIMARY KEY, id int NOT NULL); INSERT INTO runs (id) VALUES (1);",
      },
      { id: 2, name: "second", sql: "INSERT INTO runs (id) VALUES (2)" },
      { id: 3, name: "third", sql: "INSERT INTO runs (id) VALUES (3)" },
    ];
    const [a, b] = await Promise.all([
      first.forService("race", migrations),
      second.forService("race", migrations),
    ]);
    expect((await a.query("SELECT id FROM runs ORDER BY n")).rows).toEqual([
      { id: 1 },
      { id: 2 },
      { id: 3 },
    ]);
    expect((await b.query("SELECT count(*) AS n FROM plexus_migrations")).rows).toEqual([{ n: 3 }]);
  });

  it("sets up different services from several processes at once", async () => {
    const [first, second] = await Promise.all([open(), open()]);
    const names = ["setup_a", "setup_b", "setup_c", "setup_d"];
    const dbs = await Promise.all(
      names.map((name, i) =>
        (i % 2 === 0 ? first : second).forService(name, [
          { id: 1, name: "t", sql: "CREATE TABLE t (id int)" },
        ]),
      ),
    );
    for (const db of dbs) {
      expect((await db.query("SELECT current_user AS u")).rows).toEqual([
        { u: `plexus_svc_${db.schema}` },
      ]);
    }
  });

  it("connects each service as its own login role, which cannot switch to another", async () => {
    const storage = await open();
    await storage.forService("victim", [
      { id: 1, name: "t", sql: "CREATE TABLE t (secret text); INSERT INTO t VALUES ('x')" },
    ]);
    const db = await storage.forService("intruder", []);
    const { rows } = await db.query<{ s: string; u: string; superuser: boolean }>(
      "SELECT session_user AS s, current_user AS u, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user",
    );
    expect(rows).toEqual([
      { s: "plexus_svc_intruder", u: "plexus_svc_intruder", superuser: false },
    ]);
    await expect(db.query("SET ROLE postgres")).rejects.toMatchObject({ code: "42501" });
    await expect(db.query("SET ROLE plexus_svc_victim")).rejects.toMatchObject({ code: "42501" });
    await db.query("RESET ROLE");
    await expect(db.query("SELECT * FROM victim.t")).rejects.toMatchObject({ code: "42501" });
  });
});
