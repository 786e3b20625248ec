import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { requireServer, serverUrl } from "./require-server.ts";
import { createTestDatabase } from "./test-database.ts";

const pg = await requireServer("postgres");
const run = promisify(execFile);

/** Runs one query through psql, independently of the code under test. */
async function query(url: string, sql: string): Promise<string> {
  const { stdout } = await run("psql", ["--no-psqlrc", "-At", "--dbname", url, "-c", sql]);
  return stdout.trim();
}

async function exists(name: string): Promise<boolean> {
  const found = await query(
    serverUrl("postgres"),
    `SELECT count(*) FROM pg_database WHERE datname = '${name}'`,
  );
  return found === "1";
}

describe.runIf(pg)("createTestDatabase (real Postgres)", () => {
  it("creates a uniquely named database reachable at its url, and drops it", async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase({ prefix: "plexus_testing_suite" });
    try {
      expect(a.name).toMatch(/^plexus_test_[0-9a-f]{12}$/);
      expect(b.name).toMatch(/^plexus_testing_suite_[0-9a-f]{12}$/);
      expect(a.name).not.toBe(b.name);
      expect(await query(a.url, "SELECT current_database()")).toBe(a.name);
      await query(a.url, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
      expect(await query(a.url, "SELECT count(*) FROM t")).toBe("1");
      expect(await exists(a.name)).toBe(true);
    } finally {
      await a.drop();
      await b.drop();
    }
    expect(await exists(a.name)).toBe(false);
    expect(await exists(b.name)).toBe(false);
    await a.drop(); // idempotent
  });

  it("drops a database that still has a session open", async () => {
    const db = await createTestDatabase();
    const { spawn } = await import("node:child_process");
    // A session left open, as a forgotten pool would leave it.
    const session = spawn("psql", ["--no-psqlrc", "--dbname", db.url], {
      stdio: ["pipe", "ignore", "ignore"],
    });
    try {
      session.stdin.write("SELECT 1;\n");
      await expect
        .poll(() =>
          query(
            serverUrl("postgres"),
            `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db.name}'`,
          ),
        )
        .toBe("1");
      await db.drop();
      expect(await exists(db.name)).toBe(false);
    } finally {
      session.kill();
    }
  });

  it("supports await using", async () => {
    let name: string;
    {
      await using db = await createTestDatabase();
      name = db.name;
      expect(await exists(name)).toBe(true);
    }
    expect(await exists(name)).toBe(false);
  });

  it("reports psql failures clearly", async () => {
    await expect(
      createTestDatabase({
        adminUrl: `${serverUrl("postgres").replace(/\/[^/]*$/, "")}/no_such_db_x`,
      }),
    ).rejects.toThrow(/psql failed running CREATE DATABASE/);
    await expect(createTestDatabase({ psql: "/nonexistent/psql" })).rejects.toThrow(/not found/);
  });

  it("rejects unsafe prefixes", async () => {
    await expect(createTestDatabase({ prefix: 'x"; DROP DATABASE postgres; --' })).rejects.toThrow(
      TypeError,
    );
  });
});
