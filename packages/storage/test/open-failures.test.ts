import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StartupError } from "@plexus/core";
import { openStorage } from "@plexus/storage";
import { describe, expect, it } from "vitest";
import { postgresAvailable } from "./postgres-test-database.ts";

/** Storage that cannot open says why and what to change, as one StartupError line. */

const postgresUp = await postgresAvailable();

async function failure(open: Promise<unknown>): Promise<StartupError> {
  const error = await open.then(
    () => new Error("expected the open to fail"),
    (e: unknown) => e,
  );
  if (!(error instanceof StartupError)) throw error;
  expect(error.message).not.toMatch(/\n/);
  return error;
}

describe("opening storage that is not there", () => {
  it("a closed port: connection refused, start it or point DATABASE_URL elsewhere", async () => {
    const error = await failure(
      openStorage({ databaseUrl: "postgres://postgres:s3cret@127.0.0.1:1/shop" }),
    );
    expect(error.message).toBe(
      "cannot reach Postgres at postgres://postgres:***@127.0.0.1:1/shop (connection refused): " +
        "start it, or set DATABASE_URL to a server that is running",
    );
  });

  it.skipIf(!postgresUp)("a database the server does not have: create it", async () => {
    const error = await failure(
      openStorage({ databaseUrl: "postgres://postgres@127.0.0.1:5432/plexus_no_such_db" }),
    );
    expect(error.message).toBe(
      'Postgres at postgres://postgres@127.0.0.1:5432/plexus_no_such_db has no database "plexus_no_such_db": ' +
        "create it (createdb plexus_no_such_db), or set DATABASE_URL to an existing database",
    );
  });

  it("a DATABASE_URL that is no postgres URL, never quoting it (it may hold a password)", async () => {
    const error = await failure(openStorage({ databaseUrl: "host=db password=s3cret" }));
    expect(error.problem).toBe(
      "DATABASE_URL must be a postgres:// or postgresql:// URL, got 23 characters",
    );
    expect(error.message).not.toContain("s3cret");
  });

  it("a data directory held by another live process: stop it or use another", async () => {
    const dir = await mkdtemp(join(tmpdir(), "plexus-locked-"));
    try {
      // The parent process (the test runner) is alive and is not us.
      await writeFile(join(dir, "storage.lock"), `${process.ppid}\n`);
      const error = await failure(openStorage({ dataDir: dir }));
      expect(error.message).toBe(
        `the data directory ${dir} is in use by process ${process.ppid}: ` +
          "stop that process, or set PLEXUS_DATA_DIR to another directory",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
