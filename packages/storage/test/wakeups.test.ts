import { AsyncLocalStorage } from "node:async_hooks";
import type { Db } from "@plexus/core";
import { openStorage, type Storage } from "@plexus/storage";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  postgresAvailable,
  type TestDatabase,
} from "./postgres-test-database.ts";

/*
 * Wake-ups (`Sql.notify`, `Db.listen`) on both backends, and across storages (processes) sharing
 * one Postgres database. No test waits for time to pass: each waits for the wake-up it expects,
 * and proves one did not happen by waiting for a later one that would have come after it.
 */

const postgresUp = await postgresAvailable();

/** Records the wake-ups of one listener and lets a test wait for the next. */
function recorder() {
  let wakes = 0;
  const waiters: (() => void)[] = [];
  return {
    wake: () => {
      wakes++;
      for (const resolve of waiters.splice(0)) resolve();
    },
    get count() {
      return wakes;
    },
    /** Resolves once the count reaches `n`. */
    async reach(n: number): Promise<void> {
      while (wakes < n) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

let names = 0;
const service = (storage: Storage): Promise<Db> => storage.forService(`wake_${++names}`, []);

interface Backend {
  readonly kind: "pglite" | "postgres";
  readonly available: boolean;
  open(): Promise<{ storage: Storage; close: () => Promise<void> }>;
}

const backends: Backend[] = [
  {
    kind: "pglite",
    available: true,
    async open() {
      const storage = await openStorage({});
      return { storage, close: () => storage.close() };
    },
  },
  {
    kind: "postgres",
    available: postgresUp,
    async open() {
      const database = await createTestDatabase();
      const storage = await openStorage({ databaseUrl: database.url });
      return {
        storage,
        async close() {
          await storage.close();
          await database.drop();
        },
      };
    },
  },
];

describe.each(backends)("wake-ups on $kind", (backend) => {
  const suite = backend.available ? describe : describe.skip;
  suite("in one storage", () => {
    let storage: Storage;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ storage, close } = await backend.open());
    });
    afterAll(async () => {
      await close?.();
    });

    it("wakes a listener once a transaction that notified commits, not before", async () => {
      const db = await service(storage);
      const listener = recorder();
      const stop = await db.listen("jobs", listener.wake);
      await db.transaction(async (tx) => {
        tx.notify("jobs");
        tx.notify("jobs");
        await tx.query("SELECT 1");
        expect(listener.count).toBe(0);
      });
      await listener.reach(1);
      stop();
    });

    it("wakes nobody for a rolled-back transaction", async () => {
      const db = await service(storage);
      const rolledBack = recorder();
      const committed = recorder();
      const stops = [
        await db.listen("rolled_back", rolledBack.wake),
        await db.listen("committed", committed.wake),
      ];
      await expect(
        db.transaction(async (tx) => {
          tx.notify("rolled_back");
          throw new Error("no");
        }),
      ).rejects.toThrow("no");
      await db.transaction(async (tx) => tx.notify("committed"));
      await committed.reach(1);
      expect(rolledBack.count).toBe(0);
      for (const stop of stops) stop();
    });

    it("wakes nobody when a swallowed failed statement turns the commit into a rollback", async () => {
      const db = await service(storage);
      const aborted = recorder();
      const committed = recorder();
      const stops = [
        await db.listen("aborted", aborted.wake),
        await db.listen("committed", committed.wake),
      ];
      await expect(
        db.transaction(async (tx) => {
          tx.notify("aborted");
          await tx.query("SELECT 1 / 0").catch(() => undefined);
        }),
      ).rejects.toMatchObject({ code: "25P02" });
      await db.transaction(async (tx) => tx.notify("committed"));
      await committed.reach(1);
      expect(aborted.count).toBe(0);
      for (const stop of stops) stop();
    });

    it("wakes a burst of notifications once, only the listeners of that service and channel", async () => {
      const db = await service(storage);
      const other = await service(storage);
      const listener = recorder();
      const otherChannel = recorder();
      const otherService = recorder();
      const stops = [
        await db.listen("burst", listener.wake),
        await db.listen("quiet", otherChannel.wake),
        await other.listen("burst", otherService.wake),
      ];
      for (let i = 0; i < 5; i++) db.notify("burst");
      await listener.reach(1);
      await other.transaction(async (tx) => tx.notify("burst"));
      await otherService.reach(1);
      expect([listener.count, otherChannel.count]).toEqual([1, 0]);
      for (const stop of stops) stop();
    });

    it("runs a listener in the async context of listen(), not the committer's", async () => {
      const db = await service(storage);
      const als = new AsyncLocalStorage<string>();
      const seen: (string | undefined)[] = [];
      const listener = recorder();
      const stop = await als.run("listener", () =>
        db.listen("context", () => {
          seen.push(als.getStore());
          listener.wake();
        }),
      );
      await als.run("committer", () => db.transaction(async (tx) => tx.notify("context")));
      await listener.reach(1);
      expect(seen).toEqual(["listener"]);
      stop();
    });

    it("stops waking a listener once it stopped listening", async () => {
      const db = await service(storage);
      const stopped = recorder();
      const still = recorder();
      const stop = await db.listen("stop", stopped.wake);
      const stopStill = await db.listen("stop", still.wake);
      stop();
      stop();
      db.notify("stop");
      await still.reach(1);
      expect(stopped.count).toBe(0);
      stopStill();
    });

    it("refuses an invalid channel name", async () => {
      const db = await service(storage);
      expect(() => db.notify("Bad-Channel")).toThrow(TypeError);
      await expect(db.listen("x".repeat(41), () => undefined)).rejects.toThrow(TypeError);
      await expect(db.transaction(async (tx) => tx.notify(""))).rejects.toThrow(TypeError);
    });
  });
});

describe.skipIf(!postgresUp)("wake-ups across storages on one Postgres database", () => {
  let database: TestDatabase;
  let mine: Storage;
  let theirs: Storage;
  beforeAll(async () => {
    database = await createTestDatabase();
    mine = await openStorage({ databaseUrl: database.url });
    theirs = await openStorage({ databaseUrl: database.url });
  });
  afterAll(async () => {
    await mine?.close();
    await theirs?.close();
    await database?.drop();
  });

  /** Backends of this database other than `pid`'s, with what they last ran. */
  async function sessions(): Promise<{ pid: number; query: string }[]> {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ pid: number; query: string }>(
        "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
      );
      return rows;
    } finally {
      await client.end();
    }
  }

  it("wakes a listener of another storage through NOTIFY, and its own storage once", async () => {
    const mineDb = await mine.forService("shared", []);
    const theirsDb = await theirs.forService("shared", []);
    const here = recorder();
    const there = recorder();
    const stops = [
      await mineDb.listen("cross", here.wake),
      await theirsDb.listen("cross", there.wake),
    ];
    await mineDb.transaction(async (tx) => tx.notify("cross"));
    await there.reach(1);
    await here.reach(1);
    // Its own NOTIFY comes back on its LISTEN connection before theirs does: ignored (woken
    // in-process already), so their commit is the second wake-up here, not the third.
    await theirsDb.transaction(async (tx) => tx.notify("cross"));
    await here.reach(2);
    await there.reach(2);
    theirsDb.notify("cross");
    await here.reach(3);
    expect([here.count, there.count]).toEqual([3, 3]);
    for (const stop of stops) stop();
  });

  it("wakes no other storage for a rolled-back transaction", async () => {
    const mineDb = await mine.forService("rollback", []);
    const theirsDb = await theirs.forService("rollback", []);
    const rolledBack = recorder();
    const committed = recorder();
    const stops = [
      await theirsDb.listen("rolled_back", rolledBack.wake),
      await theirsDb.listen("committed", committed.wake),
    ];
    await expect(
      mineDb.transaction(async (tx) => {
        tx.notify("rolled_back");
        throw new Error("no");
      }),
    ).rejects.toThrow("no");
    await mineDb.transaction(async (tx) => tx.notify("committed"));
    await committed.reach(1);
    expect(rolledBack.count).toBe(0);
    for (const stop of stops) stop();
  });

  it("wakes only its own storage for a local notification, in a transaction or not", async () => {
    const mineDb = await mine.forService("local", []);
    const theirsDb = await theirs.forService("local", []);
    const here = recorder();
    const there = recorder();
    const sentinel = recorder();
    const stops = [
      await mineDb.listen("local_only", here.wake),
      await theirsDb.listen("local_only", there.wake),
      await theirsDb.listen("sentinel", sentinel.wake),
    ];
    await mineDb.transaction(async (tx) => tx.notify("local_only", { local: true }));
    await here.reach(1);
    mineDb.notify("local_only", { local: true });
    await here.reach(2);
    // NOTIFYs arrive in commit order: once a later one arrived, theirs would have seen the local ones.
    await mineDb.transaction(async (tx) => tx.notify("sentinel"));
    await sentinel.reach(1);
    expect([here.count, there.count]).toEqual([2, 0]);
    for (const stop of stops) stop();
  });

  it("listens again on a new connection when the LISTEN connection is lost, waking listeners", async () => {
    const mineDb = await mine.forService("lost", []);
    const theirsDb = await theirs.forService("lost", []);
    const listener = recorder();
    const stop = await theirsDb.listen("lost", listener.wake);
    const listening = (await sessions()).filter((s) => s.query.startsWith("LISTEN"));
    expect(listening).toHaveLength(1);
    const admin = new Client({ connectionString: database.url });
    await admin.connect();
    await admin.query("SELECT pg_terminate_backend($1)", [listening[0]!.pid]);
    await admin.end();
    // Notifications may have been missed while no connection listened: every listener looks.
    await listener.reach(1);
    await mineDb.transaction(async (tx) => tx.notify("lost"));
    await listener.reach(2);
    stop();
  });

  it("leaves no connection behind once closed", async () => {
    const database2 = await createTestDatabase();
    try {
      const storage = await openStorage({ databaseUrl: database2.url });
      const db = await storage.forService("closing", []);
      await db.listen("closing", () => undefined);
      await storage.close();
      const client = new Client({ connectionString: database2.url });
      await client.connect();
      const { rows } = await client.query<{ n: number }>(
        "SELECT count(*)::integer AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
      );
      await client.end();
      expect(rows[0]!.n).toBe(0);
      await expect(db.listen("closing", () => undefined)).rejects.toThrow();
    } finally {
      await database2.drop();
    }
  });
});
