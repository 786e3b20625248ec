/**
 * A host whose service declares two projections of its event log, one of which cannot apply a
 * "poison" entry while `broken` holds: the start does not hang on it, readiness names it, the
 * admin API and the metrics show it stalled, the other projection goes on, and a fix lets it
 * catch up (ADR 19, "Failing applies").
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { DescService } from "@bufbuild/protobuf";
import { createLogger, defineService, type Projection, type ServiceDefinition } from "@plexus/core";
import { startHost, type Host, type HostSpec } from "@plexus/host";
import { createEvent, decodeEventData } from "@plexus/messaging";
import { eventLogAppendLock } from "@plexus/projections";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "../../../test/support/http.ts";
import { EntrySchema, TallyService } from "./tally-contract.ts";

const token = "host-projections-admin-token-0123";
const auth = { authorization: `Bearer ${token}` };
let broken = false;
let dataDir: string;
let host: Host | undefined;
const logLines: Record<string, unknown>[] = [];

const entryType = "test.tally.v1.Entry";

const totals: Projection = {
  name: "totals",
  log: "ledger_events",
  types: [entryType],
  async apply(tx, event) {
    const entry = decodeEventData(EntrySchema, event);
    if (broken && entry.key.startsWith("poison")) throw new Error(`cannot total ${entry.key}`);
    await tx.query(
      `INSERT INTO ledger_totals (key, total) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET total = ledger_totals.total + $2`,
      [entry.key, entry.amount],
    );
  },
  reset: async (tx) => void (await tx.query("DELETE FROM ledger_totals")),
};

const counted: Projection = {
  name: "counted",
  log: "ledger_events",
  types: [entryType],
  apply: async (tx) => void (await tx.query("UPDATE ledger_count SET n = n + 1")),
  reset: async (tx) => void (await tx.query("UPDATE ledger_count SET n = 0")),
};

const ledgerService = defineService({
  name: "ledger",
  contract: TallyService,
  migrations: [
    {
      id: 1,
      name: "log and read models",
      sql: `CREATE TABLE ledger_events (
              position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event jsonb NOT NULL);
            CREATE TABLE ledger_totals (key text PRIMARY KEY, total integer NOT NULL);
            CREATE TABLE ledger_count (n integer NOT NULL); INSERT INTO ledger_count VALUES (0);`,
    },
  ],
  projections: [totals, counted],
  create: (env) => ({
    handlers: {
      add: (entry) =>
        env.db.transaction(async (tx) => {
          const event = createEvent(EntrySchema, entry, { source: "/ledger" });
          await tx.query(
            `WITH append_lock AS MATERIALIZED (SELECT ${eventLogAppendLock("ledger_events")})
             INSERT INTO ledger_events (event) SELECT $1::jsonb FROM append_lock`,
            [JSON.stringify(event)],
          );
          tx.notify("ledger_events");
          return { key: entry.key, total: 0 };
        }),
    },
  }),
});

const spec: HostSpec = {
  name: "ledger-host",
  services: [ledgerService] as ServiceDefinition<DescService>[],
  edge: ({ metrics }) => ({
    listener: (_req, res) => {
      void metrics.render().then(({ contentType, body }) => {
        res.writeHead(200, { "content-type": contentType });
        res.end(body);
      });
    },
  }),
};

function start(): Promise<Host> {
  return startHost({
    spec,
    config: { PLEXUS_DATA_DIR: dataDir, PLEXUS_ADMIN_TOKEN: token },
    port: 0,
    logger: createLogger({
      name: "host-projections-test",
      level: "info",
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split("\n")) {
            if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
          }
          done();
        },
      }),
    }),
    exit: () => undefined,
  });
}

const admin = (path: string) => request(host!.url!, `/_plexus/api/${path}`, { headers: auth });
const add = (key: string) => host!.clientsFor("test").client(TallyService).add({ key, amount: 1 });

interface Status {
  name: string;
  state: string;
  position: number;
  head: number;
  lag: number;
  failure?: { attempts: number; error: string; event?: { type: string; position: number } };
}
const statuses = async (): Promise<Status[]> =>
  (await admin("projections/ledger")).body.data as Status[];

/** Polls `read` (bounded, no fixed sleep) until `done` holds; returns the last value. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const until = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`condition not met: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "plexus-host-projections-"));
  host = await start();
}, 120_000);

afterAll(async () => {
  await host?.close();
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe("a host's projections", () => {
  it("lists each projection of a service with its position, log head and lag", async () => {
    await add("a");
    const [totalsStatus, countedStatus] = await eventually(statuses, (all) =>
      all.every((s) => s.position === 1),
    );
    expect(totalsStatus).toEqual({
      name: "totals",
      log: "ledger_events",
      state: "live",
      position: 1,
      rebuilding: false,
      head: 1,
      lag: 0,
    });
    expect(countedStatus).toMatchObject({ name: "counted", state: "live", lag: 0 });
  });

  it("answers 404 in API.md's error shape for a service without projections", async () => {
    const reply = await admin("projections/nope");
    expect(reply.status).toBe(404);
    expect(reply.body.error).toMatchObject({
      code: "NOT_FOUND",
      message: 'no projections for service "nope"',
      requestId: expect.any(String),
      path: "/_plexus/api/projections/nope",
    });
  });

  it("shows a stalled projection (admin API, metrics, log) while the other goes on, and it recovers", async () => {
    broken = true;
    await add("poison-1");
    await add("b");
    const [stalled] = await eventually(
      statuses,
      ([t, c]) => t?.state === "stalled" && c?.position === 3,
    );
    expect(stalled).toMatchObject({
      position: 1,
      head: 3,
      lag: 2,
      failure: { event: { type: entryType, position: 2 } },
    });
    expect(stalled!.failure!.error).toContain("cannot total poison-1");
    // Caught up once since the start: a later stall leaves the host ready.
    expect((await host!.health.checkReady()).ok).toBe(true);
    const metrics = await (await fetch(host!.url!)).text();
    expect(metrics).toContain('plexus_projection_lag_events{projection="ledger.totals"} 2');
    expect(metrics).toContain('plexus_projection_lag_events{projection="ledger.counted"} 0');
    expect(metrics).toMatch(/plexus_projection_failures_total\{projection="ledger.totals"\} [1-9]/);
    expect(logLines).toContainEqual(
      expect.objectContaining({
        level: 50, // error
        projection: "totals",
        err: expect.objectContaining({ event: expect.objectContaining({ position: 2 }) }),
        msg: "projection stalled: retrying with backoff",
      }),
    );
    broken = false;
    await eventually(statuses, ([t]) => t?.state === "live" && t.lag === 0);
  });

  it("starts unready, naming the projection, when an apply keeps failing at start; ready once fixed", async () => {
    await host!.close();
    host = undefined;
    broken = true;
    host = await start();
    try {
      await add("poison-2").catch(() => undefined);
    } finally {
      await host.close();
    }
    // The log now ends with an event the projection cannot apply: the next start must not hang.
    host = await start();
    const ready = await host.health.checkReady();
    expect(ready).toMatchObject({ ok: false, checks: { "projection ledger.totals": "unhealthy" } });
    expect(ready.checks["projection ledger.counted"]).toBe("ok");
    const [stalled] = await statuses();
    expect(stalled).toMatchObject({ state: "stalled", failure: { event: { position: 4 } } });
    broken = false;
    await eventually(
      () => host!.health.checkReady(),
      (report) => report.ok,
    );
  }, 60_000);
});
