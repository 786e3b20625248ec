import { AsyncLocalStorage } from "node:async_hooks";
import { LeaseHolder, takeableLease, type Db, type LeasedRows } from "@plexus/core";
import { openStorage, type Storage } from "@plexus/storage";
import { createFakeClock, type FakeClock } from "@plexus/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, postgresAvailable } from "./postgres-test-database.ts";

/*
 * Core's lease primitive against real SQL: the takeable rule (expired, or on an exclusive database
 * held by an owner not alive in this process), the renewal heartbeat and the release. Leased rows
 * here are a test table; the outbox relay and the saga orchestrator lease theirs the same way.
 */

const postgresUp = await postgresAvailable();
const ttlMs = 9_000;
const third = 3_000;

const take = `UPDATE lease_rows SET owner = $2, until = $3
  WHERE id = $1 AND ${takeableLease({
    ownerColumn: "owner",
    untilColumn: "until",
    owner: "$2",
    now: "$4",
    alive: "$5",
  })}
  RETURNING id`;

interface Backend {
  readonly name: string;
  readonly available: boolean;
  /** A storage, and whether its databases are to be seen as exclusive. */
  open(): Promise<{ storage: Storage; exclusive: boolean; cleanup: () => Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: "PGlite (exclusive)",
    available: true,
    async open() {
      const storage = await openStorage({});
      return { storage, exclusive: true, cleanup: () => storage.close() };
    },
  },
  {
    // What a shared database means for the rule, without needing Postgres.
    name: "PGlite seen as shared",
    available: true,
    async open() {
      const storage = await openStorage({});
      return { storage, exclusive: false, cleanup: () => storage.close() };
    },
  },
  {
    name: "Postgres (shared)",
    available: postgresUp,
    async open() {
      const database = await createTestDatabase();
      const storage = await openStorage({ databaseUrl: database.url });
      return {
        storage,
        exclusive: false,
        async cleanup() {
          await storage.close().finally(() => database.drop());
        },
      };
    },
  },
];

describe.each(backends)("LeaseHolder on $name", (backend) => {
  const suite = backend.available ? describe : describe.skip;

  suite("leases", () => {
    let storage: Storage;
    let exclusive = false;
    let cleanup = async (): Promise<void> => {};
    let service = 0;
    let db: Db;
    let clock: FakeClock;
    /** Renewals and releases in flight, awaited by `settle`. */
    let pending: Promise<unknown>[];
    const holders: LeaseHolder[] = [];

    beforeAll(async () => {
      ({ storage, exclusive, cleanup } = await backend.open());
    });
    afterAll(async () => {
      await cleanup();
    });
    afterEach(() => {
      for (const made of holders.splice(0)) made.drop();
    });
    beforeEach(async () => {
      const real = await storage.forService(`lease_${++service}`, [
        {
          id: 1,
          name: "lease_rows",
          sql: `CREATE TABLE lease_rows (id text PRIMARY KEY, owner text, until bigint);
                INSERT INTO lease_rows (id) VALUES ('a'), ('b');`,
        },
      ]);
      expect(real.exclusive).toBe(backend.name.startsWith("PGlite"));
      // The spread keeps the handle's methods (own properties) and overrides the flag.
      db = { ...real, exclusive };
      clock = createFakeClock(1_000_000);
      pending = [];
    });

    /** A holder whose heartbeat renews (`renews`) the rows it holds and whose close frees them. */
    function holder(owner: string, options: { renews?: boolean } = {}): LeaseHolder {
      const leased: LeasedRows = {
        renew(self) {
          if (options.renews === false) return Promise.resolve();
          const { until } = self.terms();
          return track(
            db.query("UPDATE lease_rows SET until = $2 WHERE owner = $1", [owner, until]),
          );
        },
        release: () =>
          track(db.query("UPDATE lease_rows SET owner = NULL WHERE owner = $1", [owner])),
      };
      const made = new LeaseHolder({ db, clock, ttlMs, leased, owner });
      holders.push(made);
      return made;
    }

    function track<T>(promise: Promise<T>): Promise<void> {
      const done = promise.then(() => undefined);
      pending.push(done);
      return done;
    }

    async function tryTake(by: LeaseHolder, id = "a"): Promise<boolean> {
      const { owner, now, until, alive } = by.terms();
      return (await db.query(take, [id, owner, until, now, alive])).rows.length === 1;
    }

    async function ownerOf(id = "a"): Promise<string | null> {
      const { rows } = await db.query<{ owner: string | null }>(
        "SELECT owner FROM lease_rows WHERE id = $1",
        [id],
      );
      return rows[0]?.owner ?? null;
    }

    /** Moves the fake clock by `ms` and lets the heartbeat's statements finish. */
    async function advance(ms: number): Promise<void> {
      await clock.advanceAsync(ms);
      while (pending.length > 0) await Promise.all(pending.splice(0));
      await new Promise((resolve) => setImmediate(resolve));
    }

    it("takes a free lease; a live holder's lease only once it ran out, not before", async () => {
      const a = holder("a-owner", { renews: false }); // stalled: its heartbeat renews nothing
      const b = holder("b-owner");
      a.open();
      b.open();
      expect(await tryTake(a)).toBe(true);
      expect(await tryTake(a)).toBe(true); // its own lease: a renewal
      expect(await tryTake(b)).toBe(false);
      await advance(ttlMs); // runs out at exactly now + ttl: still held at that instant
      expect(await tryTake(b)).toBe(false);
      await advance(1);
      expect(await tryTake(b)).toBe(true);
      expect(await ownerOf()).toBe("b-owner");
    });

    it("renews every third of the TTL, in the context of open(), so a held lease never runs out", async () => {
      const context = new AsyncLocalStorage<string>();
      const seen: (string | undefined)[] = [];
      const a = holder("a-owner");
      const renewals = new LeaseHolder({
        db,
        clock,
        ttlMs,
        owner: "a-owner-probe",
        leased: {
          renew: async () => void seen.push(context.getStore()),
          release: async () => {},
        },
      });
      holders.push(renewals);
      context.run("opened", () => {
        a.open();
        renewals.open();
      });
      const b = holder("b-owner");
      b.open();
      expect(await tryTake(a)).toBe(true);
      for (let i = 0; i < 5; i++) await advance(third);
      expect(seen).toEqual(["opened", "opened", "opened", "opened", "opened"]);
      expect(await tryTake(b)).toBe(false); // 15 s after the take, with a 9 s TTL
      await advance(third - 1);
      expect(seen).toHaveLength(5); // not before a third
    });

    it("stops renewing after stopRenewing's next beat, and at close at once", async () => {
      const seen: string[] = [];
      const probe = (owner: string): LeaseHolder => {
        const made = new LeaseHolder({
          db,
          clock,
          ttlMs,
          owner,
          leased: { renew: async () => void seen.push(owner), release: async () => {} },
        });
        holders.push(made);
        made.open();
        return made;
      };
      const stopping = probe("stopping");
      const closed = probe("closed");
      stopping.stopRenewing();
      await closed.close();
      for (let i = 0; i < 3; i++) await advance(third);
      expect(seen).toEqual(["stopping"]); // the beat already scheduled was the last
      expect(clock.pendingTimers()).toBe(0);
    });

    it("release at close frees the lease for another holder at once", async () => {
      const a = holder("a-owner");
      const b = holder("b-owner");
      a.open();
      b.open();
      expect(await tryTake(a)).toBe(true);
      await a.close();
      await a.close(); // once
      expect(await ownerOf()).toBe(null);
      expect(await tryTake(b)).toBe(true);
    });

    it("takes a dead process's lease at once on an exclusive database, only once it ran out on a shared one", async () => {
      await db.query("UPDATE lease_rows SET owner = 'dead-process', until = $1", [
        clock.now() + ttlMs,
      ]);
      const b = holder("b-owner");
      b.open();
      expect(await tryTake(b, "a")).toBe(exclusive);
      // A holder of this process that dropped (crashed) counts as dead too.
      const a = holder("a-owner");
      a.open();
      await db.query("UPDATE lease_rows SET owner = 'a-owner' WHERE id = 'b'");
      expect(await tryTake(b, "b")).toBe(false); // alive
      a.drop();
      expect(await tryTake(b, "b")).toBe(exclusive);
      expect(b.alive()).toEqual(exclusive ? [] : null);
      await advance(ttlMs + 1);
      expect(await tryTake(b, "b")).toBe(true);
    });

    it("refuses a TTL that is not positive", () => {
      const leased: LeasedRows = { renew: async () => {}, release: async () => {} };
      for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => new LeaseHolder({ db, clock, ttlMs: bad, leased })).toThrow(RangeError);
      }
    });
  });
});
