import { describe, expect, it } from "vitest";
import type { Db, Sql } from "./store.ts";
import { toolkitTables } from "./toolkit-tables.ts";

/** A Db that records statements and can be told to fail its next transaction. */
function recordingDb(): { db: Db; statements: string[]; failNext: () => void } {
  const statements: string[] = [];
  let fail = false;
  const tx = {
    query: async (sql: string) => {
      statements.push(sql);
      return { rows: [], rowCount: 0 };
    },
  } as unknown as Sql;
  const db = {
    transaction: async <T>(fn: (tx: Sql) => Promise<T>): Promise<T> => {
      if (fail) {
        fail = false;
        throw new Error("connection lost");
      }
      return fn(tx);
    },
  } as unknown as Db;
  return { db, statements, failNext: () => (fail = true) };
}

describe("toolkitTables", () => {
  it("runs the statements once per Db, after the advisory lock of its name", async () => {
    const ensure = toolkitTables("plexus_things", ["CREATE TABLE IF NOT EXISTS a ()"]);
    const { db, statements } = recordingDb();
    await Promise.all([ensure(db), ensure(db)]);
    await ensure(db);
    expect(statements).toHaveLength(2);
    expect(statements[0]).toContain("pg_advisory_xact_lock");
    expect(statements[1]).toBe("CREATE TABLE IF NOT EXISTS a ()");
    const other = recordingDb();
    await ensure(other.db);
    expect(other.statements).toHaveLength(2);
  });

  it("tries again on the next call after a failure", async () => {
    const ensure = toolkitTables("plexus_things", ["CREATE TABLE IF NOT EXISTS a ()"]);
    const { db, statements, failNext } = recordingDb();
    failNext();
    await expect(ensure(db)).rejects.toThrow("connection lost");
    await ensure(db);
    expect(statements).toHaveLength(2);
  });
});
