import { randomBytes } from "node:crypto";
import { Code, PlexusError, type Db, type Migration } from "@plexus/core";
import { isUniqueViolation, openStorage, type Storage } from "@plexus/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, postgresAvailable } from "./postgres-test-database.ts";

/*
 * The Storage contract, run against both backends. Each backend opens one storage per file
 * (PGlite's WASM start is the slow part) and every test uses its own service names.
 */

const postgresUp = await postgresAvailable();

interface Backend {
  readonly kind: "pglite" | "postgres";
  readonly available: boolean;
  open(): Promise<{ storage: Storage; cleanup: () => Promise<void> }>;
}

const backends: Backend[] = [
  {
    kind: "pglite",
    available: true,
    async open() {
      const storage = await openStorage({});
      return { storage, cleanup: () => storage.close() };
    },
  },
  {
    kind: "postgres",
    available: postgresUp,
    async open() {
      const database = await createTestDatabase();
      try {
        const storage = await openStorage({ databaseUrl: database.url });
        return {
          storage,
          async cleanup() {
            // A failed test may leave a transaction open, and close() waits for it: bound the
            // wait so the database is dropped (WITH FORCE) either way.
            const giveUp = new Promise((resolve) => setTimeout(resolve, 5000).unref());
            try {
              await Promise.race([storage.close(), giveUp]);
            } finally {
              await database.drop();
            }
          },
        };
      } catch (error) {
        await database.drop();
        throw error;
      }
    },
  },
];

const log = (step: string): string => `INSERT INTO log (step) VALUES ('${step}')`;
const createLog: Migration = {
  id: 1,
  name: "log",
  sql: `CREATE TABLE log (n serial PRIMARY KEY, step text NOT NULL); ${log("one")};`,
};

describe.each(backends)("storage on $kind", (backend) => {
  const suite = backend.available ? describe : describe.skip;

  suite("contract", () => {
    let storage: Storage;
    let cleanup: () => Promise<void> = async () => {};

    beforeAll(async () => {
      ({ storage, cleanup } = await backend.open());
    });
    afterAll(async () => {
      await cleanup();
    });

    const steps = async (db: Db): Promise<string[]> =>
      (await db.query<{ step: string }>("SELECT step FROM log ORDER BY n")).rows.map((r) => r.step);
    const appliedIds = async (db: Db): Promise<number[]> =>
      (await db.query<{ id: number }>("SELECT id FROM plexus_migrations ORDER BY id")).rows.map(
        (r) => r.id,
      );

    it("reports its kind and answers ping", async () => {
      expect(storage.kind).toBe(backend.kind);
      await storage.ping();
    });

    it("tells whether this process has the database to itself (PGlite) or shares it (Postgres)", async () => {
      const db = await storage.forService("exclusive_probe", []);
      expect(db.exclusive).toBe(backend.kind === "pglite");
    });

    it("applies migrations once, in id order, and only the new ones on a later open", async () => {
      const migrations: Migration[] = [
        createLog,
        // Depends on migration 1 having run first.
        { id: 2, name: "add-note", sql: `ALTER TABLE log ADD COLUMN note text; ${log("two")}` },
        { id: 5, name: "three", sql: log("three") },
      ];
      const db = await storage.forService("mig_order", migrations);
      expect(db.schema).toBe("mig_order");
      expect(await steps(db)).toEqual(["one", "two", "three"]);
      expect(await appliedIds(db)).toEqual([1, 2, 5]);

      const again = await storage.forService("mig_order", migrations);
      expect(await steps(again)).toEqual(["one", "two", "three"]);

      const more = await storage.forService("mig_order", [
        ...migrations,
        { id: 7, name: "four", sql: log("four") },
      ]);
      expect(await steps(more)).toEqual(["one", "two", "three", "four"]);
      expect(await appliedIds(more)).toEqual([1, 2, 5, 7]);
    });

    it("rejects a migration list that is not strictly ascending, before touching the database", async () => {
      const bad = [
        { id: 2, name: "b", sql: "CREATE TABLE b (id int)" },
        { id: 1, name: "a", sql: "CREATE TABLE a (id int)" },
      ];
      await expect(storage.forService("mig_unordered", bad)).rejects.toThrow(/strictly ascending/);
      const dup = [createLog, { ...createLog, name: "again" }];
      await expect(storage.forService("mig_unordered", dup)).rejects.toThrow(/strictly ascending/);
      // Nothing was created: the schema is still free for a valid list.
      const db = await storage.forService("mig_unordered", [createLog]);
      expect(await steps(db)).toEqual(["one"]);
    });

    it("refuses a list that lost, renamed or slotted in below an applied migration", async () => {
      const applied: Migration[] = [createLog, { id: 3, name: "three", sql: log("three") }];
      const db = await storage.forService("mig_history", applied);

      const removed = [createLog, { id: 4, name: "four", sql: log("four") }];
      await expect(storage.forService("mig_history", removed)).rejects.toThrow(
        /migration 3 \(three\).*no longer in the list/,
      );
      const renamed = [createLog, { id: 3, name: "drei", sql: log("three") }];
      await expect(storage.forService("mig_history", renamed)).rejects.toThrow(/now named "drei"/);
      const late = [createLog, { id: 2, name: "two", sql: log("two") }, applied[1]!];
      await expect(storage.forService("mig_history", late)).rejects.toThrow(
        /migration 2 \(two\) is not applied but 3 already is/,
      );
      expect(await steps(db)).toEqual(["one", "three"]);
      expect(await appliedIds(db)).toEqual([1, 3]);
    });

    it("applies each migration in its own transaction: a failing one leaves no trace", async () => {
      const broken: Migration[] = [
        createLog,
        { id: 2, name: "broken", sql: `CREATE TABLE half (id int); ${log("two")}; SELEC 1;` },
        { id: 3, name: "three", sql: log("three") },
      ];
      const failure = await storage.forService("mig_fail", broken).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(Error);
      expect((failure as Error).message).toMatch(
        /service "mig_fail": migration 2 \(broken\) failed/,
      );
      expect(failure).toMatchObject({ code: "42601" });

      const fixed = [
        createLog,
        { ...broken[1]!, sql: `CREATE TABLE half (id int); ${log("two")}` },
        broken[2]!,
      ];
      const db = await storage.forService("mig_fail", fixed);
      expect(await steps(db)).toEqual(["one", "two", "three"]);
    });

    describe("isolation", () => {
      let a: Db;
      let b: Db;
      beforeAll(async () => {
        a = await storage.forService("iso_a", [
          {
            id: 1,
            name: "secrets",
            sql: "CREATE TABLE secrets (id int PRIMARY KEY, value text); INSERT INTO secrets VALUES (1, 'a-only');",
          },
        ]);
        b = await storage.forService("iso_b", [
          { id: 1, name: "own", sql: "CREATE TABLE own (id int PRIMARY KEY)" },
        ]);
      });

      it("lets a service use its own tables, qualified or not", async () => {
        expect((await a.query("SELECT value FROM secrets")).rows).toEqual([{ value: "a-only" }]);
        expect((await a.query("SELECT value FROM iso_a.secrets")).rows).toEqual([
          { value: "a-only" },
        ]);
      });

      it("keeps another service from reading or writing them, even schema-qualified", async () => {
        await expect(b.query("SELECT * FROM secrets")).rejects.toMatchObject({ code: "42P01" });
        await expect(b.query("SELECT * FROM iso_a.secrets")).rejects.toMatchObject({
          code: "42501",
        });
        await expect(b.query("INSERT INTO iso_a.secrets VALUES (2, 'x')")).rejects.toMatchObject({
          code: "42501",
        });
        await expect(b.query("UPDATE iso_a.secrets SET value = 'x'")).rejects.toMatchObject({
          code: "42501",
        });
        await expect(b.query("DROP TABLE iso_a.secrets")).rejects.toMatchObject({
          code: "42501",
        });
        await expect(b.query("CREATE TABLE iso_a.planted (id int)")).rejects.toMatchObject({
          code: "42501",
        });
        await expect(b.query("CREATE TABLE public.shared (id int)")).rejects.toMatchObject({
          code: "42501",
        });
        await expect(
          b.transaction((tx) => tx.query("SELECT * FROM iso_a.secrets")),
        ).rejects.toMatchObject({ code: "42501" });
        // The statements above changed nothing, and `a` still acts as itself.
        expect((await a.query("SELECT value FROM secrets")).rows).toEqual([{ value: "a-only" }]);
      });

      it("keeps a search_path change from reaching another schema", async () => {
        const error = await b
          .transaction(async (tx) => {
            await tx.query("SET LOCAL search_path TO iso_a");
            return tx.query("SELECT * FROM secrets");
          })
          .catch((e: unknown) => e);
        // Without USAGE on the schema, Postgres skips it in the search_path: "does not exist".
        expect(["42501", "42P01"]).toContain((error as { code?: string }).code);
        expect((await b.query("SELECT count(*) AS n FROM own")).rows).toEqual([{ n: 0 }]);
      });

      it("runs migrations as the service's role, so they cannot reach other schemas either", async () => {
        const stealing = [
          { id: 1, name: "steal", sql: "CREATE TABLE loot AS SELECT * FROM iso_a.secrets" },
        ];
        await expect(storage.forService("iso_thief", stealing)).rejects.toMatchObject({
          code: "42501",
        });
      });

      it("runs each service as its own role", async () => {
        expect((await a.query("SELECT current_user AS u")).rows).toEqual([
          { u: "plexus_svc_iso_a" },
        ]);
        expect((await b.query("SELECT current_user AS u")).rows).toEqual([
          { u: "plexus_svc_iso_b" },
        ]);
      });
    });

    describe("transactions", () => {
      let db: Db;
      let other: Db;
      beforeAll(async () => {
        db = await storage.forService("tx_main", [
          {
            id: 1,
            name: "items",
            sql: "CREATE TABLE items (id text PRIMARY KEY, qty int NOT NULL)",
          },
        ]);
        other = await storage.forService("tx_other", []);
      });
      const ids = async (): Promise<string[]> =>
        (await db.query<{ id: string }>("SELECT id FROM items ORDER BY id")).rows.map((r) => r.id);

      it("commits when the function resolves, and returns its value", async () => {
        const result = await db.transaction(async (tx) => {
          await tx.query("INSERT INTO items VALUES ($1, $2)", ["c1", 1]);
          await tx.query("INSERT INTO items VALUES ($1, $2)", ["c2", 2]);
          return (await tx.query<{ n: number }>("SELECT count(*) AS n FROM items")).rows[0]!.n;
        });
        expect(result).toBe(2);
        expect(await ids()).toEqual(["c1", "c2"]);
      });

      it("rolls back when the function throws, and rethrows the same error", async () => {
        const boom = new Error("boom");
        await expect(
          db.transaction(async (tx) => {
            await tx.query("INSERT INTO items VALUES ($1, $2)", ["r1", 1]);
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(await ids()).toEqual(["c1", "c2"]);
      });

      it("rolls back (25P02) when a failed statement was swallowed inside", async () => {
        await expect(
          db.transaction(async (tx) => {
            await tx.query("INSERT INTO items VALUES ($1, $2)", ["s1", 1]);
            await tx.query("INSERT INTO items VALUES ($1, $2)", ["c1", 1]).catch(() => undefined);
          }),
        ).rejects.toMatchObject({ code: "25P02" });
        expect(await ids()).toEqual(["c1", "c2"]);
      });

      it("refuses nesting, bypassing the tx handle, and calling another service inside", async () => {
        await expect(db.transaction(() => db.transaction(async () => undefined))).rejects.toThrow(
          /nested transactions are not supported/,
        );
        await expect(db.transaction(() => db.query("SELECT 1"))).rejects.toThrow(
          /use the tx handle|through the tx handle/,
        );
        await expect(db.transaction(() => other.query("SELECT 1"))).rejects.toThrow(
          /inside an open transaction of "tx_main"/,
        );
        // Work left running after the transaction ended is not refused.
        let later: Promise<unknown> = Promise.resolve();
        await db.transaction(async () => {
          later = new Promise((resolve) => setImmediate(resolve)).then(() => db.query("SELECT 1"));
        });
        await expect(later).resolves.toMatchObject({ rowCount: 1 });
      });

      it("refuses transaction control in query(), but allows savepoints inside a transaction", async () => {
        await expect(db.query("BEGIN")).rejects.toThrow(/use transaction\(fn\)/);
        await expect(db.transaction((tx) => tx.query("COMMIT"))).rejects.toThrow(
          /use transaction\(fn\)/,
        );
        await db.transaction(async (tx) => {
          await tx.query("INSERT INTO items VALUES ($1, $2)", ["sp1", 1]);
          await tx.query("SAVEPOINT dup");
          const dup = await tx
            .query("INSERT INTO items VALUES ($1, $2)", ["c1", 1])
            .catch((e: unknown) => e);
          expect(isUniqueViolation(dup)).toBe(true);
          await tx.query("ROLLBACK TO SAVEPOINT dup");
        });
        expect(await ids()).toEqual(["c1", "c2", "sp1"]);
        await db.query("DELETE FROM items WHERE id = 'sp1'");
      });

      it("refuses a tx handle used after its transaction ended", async () => {
        let kept: { query: Db["query"] } | undefined;
        await db.transaction(async (tx) => {
          kept = tx;
        });
        await expect(kept!.query("SELECT 1")).rejects.toThrow(/already ended/);
      });

      it("detects unique violations by SQLSTATE, also through PlexusError.from", async () => {
        const error = await db
          .query("INSERT INTO items VALUES ($1, $2)", ["c1", 9])
          .catch((e: unknown) => e);
        expect(error).toMatchObject({ code: "23505" });
        expect(isUniqueViolation(error)).toBe(true);
        expect(isUniqueViolation(PlexusError.from(error))).toBe(true);
        // Parameters (possibly secrets) are not carried into logs.
        expect(error).not.toHaveProperty("params");
        const inTx = await db
          .transaction((tx) => tx.query("INSERT INTO items VALUES ($1, $2)", ["c2", 9]))
          .catch((e: unknown) => e);
        expect(isUniqueViolation(inTx)).toBe(true);

        const notNull = await db
          .query("INSERT INTO items VALUES ($1, $2)", ["n1", null])
          .catch((e: unknown) => e);
        expect(notNull).toMatchObject({ code: "23502" });
        expect(isUniqueViolation(notNull)).toBe(false);
        expect(isUniqueViolation(undefined)).toBe(false);
        expect(isUniqueViolation(new Error("23505"))).toBe(false);
      });

      it("counts affected rows and returned rows alike", async () => {
        expect((await db.query("UPDATE items SET qty = qty + 1")).rowCount).toBe(2);
        expect((await db.query("SELECT * FROM items")).rowCount).toBe(2);
        expect((await db.query("DELETE FROM items WHERE id = 'none'")).rowCount).toBe(0);
        expect(
          (await db.query("INSERT INTO items VALUES ('i1', 1), ('i2', 2) RETURNING id")).rowCount,
        ).toBe(2);
      });
    });

    describe("values the database refuses", () => {
      let db: Db;
      beforeAll(async () => {
        db = await storage.forService("data_errors", [
          {
            id: 1,
            name: "values",
            sql:
              "CREATE TABLE vals (id text PRIMARY KEY, short varchar(4), n int, price numeric(4,2));" +
              "CREATE INDEX vals_short ON vals (short)",
          },
        ]);
      });

      const refused = (text: string, params: unknown[]): Promise<unknown> =>
        db.query(text, params).catch((e: unknown) => e);
      // A value the database cannot take; must surface as the caller's error, nothing internal.
      const secret = "s3cr3t-value";
      const cases: [string, string, unknown[], string][] = [
        ["a NUL byte", "SELECT * FROM vals WHERE id = $1", [`${secret}\u0000`], "22021"],
        [
          "a string too long",
          "INSERT INTO vals (id, short) VALUES ($1, $2)",
          ["a", secret],
          "22001",
        ],
        [
          "an int out of range",
          "INSERT INTO vals (id, n) VALUES ($1, $2)",
          ["b", 2 ** 40],
          "22003",
        ],
        [
          "a numeric out of range",
          "INSERT INTO vals (id, price) VALUES ($1, $2)",
          ["c", 12345],
          "22003",
        ],
        ["text for an int", "SELECT * FROM vals WHERE n = $1", [secret], "22P02"],
      ];

      it.each(cases)(
        "%s: InvalidArgument, no SQL or value in the message",
        async (_, text, params, state) => {
          const error = await refused(text, params);
          expect(error).toBeInstanceOf(PlexusError);
          expect((error as PlexusError).code).toBe(Code.InvalidArgument);
          expect((error as PlexusError).message).not.toMatch(/vals|select|insert|s3cr3t|\$1/i);
          expect((error as PlexusError).cause).toMatchObject({ code: state });
        },
      );

      it("the same inside a transaction, which then rolls back", async () => {
        const error = await db
          .transaction(async (tx) => {
            await tx.query("INSERT INTO vals (id) VALUES ($1)", ["in-tx"]);
            await tx.query("SELECT * FROM vals WHERE id = $1", ["\u0000"]);
          })
          .catch((e: unknown) => e);
        expect(error).toMatchObject({ code: Code.InvalidArgument });
        expect((await db.query("SELECT id FROM vals WHERE id = 'in-tx'")).rowCount).toBe(0);
      });

      it("a value too large for an index row (54000)", async () => {
        await db.query("ALTER TABLE vals ALTER COLUMN short TYPE text");
        // Random, so compression cannot bring it under the index row limit (~2.7 kB).
        const big = randomBytes(12_000).toString("base64");
        const error = await refused("INSERT INTO vals (id, short) VALUES ($1, $2)", ["d", big]);
        expect(error).toMatchObject({ code: Code.InvalidArgument, cause: { code: "54000" } });
      });

      it("leaves every other error as the database raised it", async () => {
        expect(await refused("SELEC 1", [])).toMatchObject({ code: "42601" });
        expect(await refused("SELECT * FROM missing_table", [])).toMatchObject({ code: "42P01" });
      });
    });

    it("parses values the same way on both backends", async () => {
      const db = await storage.forService("types", []);
      const { rows } = await db.query(
        `SELECT 42::int8 AS big, 9007199254740993::int8 AS huge, 3::int4 AS small,
                '12.50'::numeric AS price, '2024-02-29'::date AS day,
                '2024-02-29T10:00:00Z'::timestamptz AS at, '1 day'::interval AS span,
                '{"a":[1,2]}'::jsonb AS doc, true AS flag, ARRAY[1,2]::int8[] AS bigs,
                ARRAY['2024-01-01']::date[] AS days, NULL::text AS nothing,
                $1::jsonb AS param_doc, $2::timestamptz AS param_at`,
        [JSON.stringify([1, { b: 2 }]), new Date("2024-03-01T00:00:00Z")],
      );
      expect(rows[0]).toEqual({
        big: 42,
        huge: 9007199254740993n,
        small: 3,
        price: "12.50",
        day: "2024-02-29",
        at: new Date("2024-02-29T10:00:00Z"),
        span: "1 day",
        doc: { a: [1, 2] },
        flag: true,
        bigs: [1, 2],
        days: ["2024-01-01"],
        nothing: null,
        param_doc: [1, { b: 2 }],
        param_at: new Date("2024-03-01T00:00:00Z"),
      });
    });

    it("runs one statement per query on both backends", async () => {
      const db = await storage.forService("one_stmt", []);
      await expect(db.query("SELECT 1; SELECT 2")).rejects.toMatchObject({ code: "42601" });
    });

    it("refuses bad service names", async () => {
      for (const name of ["Orders", "public", "pg_x", "a-b", "", "x".repeat(53)]) {
        await expect(storage.forService(name, [])).rejects.toThrow(/invalid service name/);
      }
    });

    // Last: it closes the shared storage.
    it("close() waits for running transactions, then refuses new work", async () => {
      const db = await storage.forService("closing", [
        { id: 1, name: "t", sql: "CREATE TABLE t (id int)" },
      ]);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const running = db.transaction(async (tx) => {
        entered();
        await gate;
        await tx.query("INSERT INTO t VALUES (1)");
        return "done";
      });
      await inside;
      let closed = false;
      const closing = storage.close().then(() => (closed = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(closed).toBe(false);
      const refused = await db.query("SELECT 1").catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(PlexusError);
      expect((refused as PlexusError).code).toBe(Code.Unavailable);
      release();
      await expect(running).resolves.toBe("done");
      await closing;
      expect(closed).toBe(true);
      await storage.close(); // idempotent
    });
  });
});
