/**
 * `startHost` on a tiny real topology (two services on one PGlite data directory, the in-process
 * broker, an edge), and its admin API over real HTTP: auth, reads, and every state-changing route
 * shown to have its effect.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createLogger, StartupError, type HealthReport } from "@plexus/core";
import { startHost, type Host } from "@plexus/host";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, type Reply } from "../../../test/support/http.ts";
import { AuditService, TallyService } from "./tally-contract.ts";
import { faults, probes, tallyHost } from "./tally-topology.ts";

const token = "host-test-admin-token-0123456789";
const auth = { authorization: `Bearer ${token}` };
let dataDir: string;
let host: Host;
let url: string;
/** Every log line of the host, parsed. */
const logLines: Record<string, unknown>[] = [];
/** How the first start, on a port in use, ended. */
let failedStart: unknown;

function startTallyHost(config: Record<string, string> = {}): Promise<Host> {
  return startHost({
    spec: tallyHost,
    config: { PLEXUS_DATA_DIR: dataDir, PLEXUS_ADMIN_TOKEN: token, ...config },
    port: 0,
    logger: createLogger({
      name: "host-test",
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

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "plexus-host-"));
  // First a start that fails late (the RPC server's port is taken: every service has started),
  // then the real one on the same data directory: it opens only if the failed start released it.
  const squatter = createServer();
  await new Promise<void>((done) => squatter.listen(0, "127.0.0.1", done));
  const { port } = squatter.address() as { port: number };
  failedStart = await startTallyHost({ PLEXUS_RPC_PORT: String(port) }).then(
    () => new Error("started on a port in use"),
    (error: unknown) => ({ error, port }),
  );
  await new Promise<void>((done) => squatter.close(() => done()));
  host = await startTallyHost();
  url = host.url!;
}, 180_000);

afterAll(async () => {
  await host?.close();
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

/** `GET`s (or else) an admin route with the admin token. */
const admin = (path: string, method = "GET", headers: Record<string, string> = auth) =>
  request(url, `/_plexus/api/${path}`, { method, headers });

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

/** API.md's error shape, with this status and code. */
function expectError(reply: Reply, status: number, code: string): void {
  expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status, code });
  expect(reply.body.error).toMatchObject({
    message: expect.any(String),
    requestId: expect.any(String),
    timestamp: expect.any(String),
    path: expect.stringMatching(/^\/_plexus\/api\//),
  });
  expect(reply.text).not.toMatch(/\bat .*\.ts:\d+|SELECT|plexus_/);
}

interface DeadLetterRow {
  id: string;
  group: string;
  eventId: string;
  event: { data: { key: string } };
}

const deadLetters = async (): Promise<DeadLetterRow[]> =>
  (await admin("dead-letters/audit")).body.data as DeadLetterRow[];

const audited = async (key: string): Promise<number> =>
  (await host.clientsFor("test").client(AuditService).count({ key })).total;

/** Adds an entry whose audit is refused, and returns its dead letter. */
async function poisoned(key: string): Promise<DeadLetterRow> {
  faults.rejectPoison = true;
  await host.clientsFor("test").client(TallyService).add({ key, amount: 5 });
  const letters = await eventually(deadLetters, (all) => all.some((l) => l.event.data.key === key));
  return letters.find((l) => l.event.data.key === key)!;
}

describe("startHost", () => {
  it("fails on an RPC port in use with one StartupError, having undone its start", () => {
    const { error, port } = failedStart as { error: unknown; port: number };
    expect(error).toBeInstanceOf(StartupError);
    expect((error as Error).message).toBe(
      `port ${port} is in use: set PLEXUS_RPC_PORT to a free port or stop the process using it`,
    );
    // The undo ran the stop steps registered so far, storage (and its lock) included.
    expect(logLines).toContainEqual(
      expect.objectContaining({ msg: "shutting down", reason: "start-up failed" }),
    );
    expect(logLines).toContainEqual(expect.objectContaining({ msg: "stopped", step: "storage" }));
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("refuses an outbox lease TTL that is not a positive integer, before opening anything", async () => {
    for (const bad of ["soon", "0"]) {
      await expect(startTallyHost({ PLEXUS_OUTBOX_LEASE_MS: bad })).rejects.toThrow(
        /PLEXUS_OUTBOX_LEASE_MS/,
      );
    }
  });

  it("wires typed clients: a call to one service reaches the other through outbox and broker", async () => {
    const tally = host.clientsFor("test").client(TallyService);
    expect(await tally.add({ key: "mugs", amount: 2 })).toMatchObject({ key: "mugs", total: 2 });
    expect(await tally.add({ key: "mugs", amount: 3 })).toMatchObject({ total: 5 });
    expect(
      await eventually(
        () => audited("mugs"),
        (n) => n === 5,
      ),
    ).toBe(5);
  });

  it("is ready when storage and every service are, and says which one is not", async () => {
    expect(await host.health.checkReady()).toEqual({
      ok: true,
      checks: { storage: "ok", tally: "ok", audit: "ok" },
    });
    faults.auditUnready = true;
    try {
      expect(await host.health.checkReady()).toMatchObject({
        ok: false,
        checks: { audit: "unhealthy" },
      });
      expect((await admin("health")).body.data.ready).toMatchObject({
        ok: false,
        checks: { storage: "ok", audit: "unhealthy" },
      });
    } finally {
      faults.auditUnready = false;
    }
  });

  it("serves the edge on its URL", async () => {
    const reply = await request(url, "/anything");
    expect(reply).toMatchObject({ status: 200, text: "edge" });
  });
});

describe("admin API auth", () => {
  it("answers 401 without a token, with a wrong one, or a malformed header", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: "Bearer wrong-token-wrong-token-wrong" },
      { authorization: `Bearer ${token}x` },
      { authorization: token },
      { authorization: `Basic ${token}` },
    ];
    for (const headers of attempts) {
      expectError(await admin("health", "GET", headers), 401, "UNAUTHENTICATED");
      expectError(await admin("sagas/tally/x/retry", "POST", headers), 401, "UNAUTHENTICATED");
      expectError(await admin("dead-letters/audit/1", "DELETE", headers), 401, "UNAUTHENTICATED");
    }
  });

  it("answers with the right token", async () => {
    const reply = await admin("health");
    expect(reply.status).toBe(200);
    expect(reply.body.data).toMatchObject({ live: { ok: true }, ready: { ok: true } });
  });
});

describe("admin API: sagas", () => {
  it("lists and shows a saga parked as NEEDS_ATTENTION; retry resumes it and it settles", async () => {
    faults.compensationFails = true;
    const { id } = await probes.sagas!.start("refund", { key: "r1" });
    expect((await probes.sagas!.settled(id)).status).toBe("NEEDS_ATTENTION");

    const list = await admin("sagas/tally?status=NEEDS_ATTENTION");
    expect(list.status).toBe(200);
    expect(list.body.data.items).toContainEqual(
      expect.objectContaining({ id, status: "NEEDS_ATTENTION" }),
    );
    const shown = await admin(`sagas/tally/${id}`);
    expect(shown.body.data).toMatchObject({ id, type: "refund", status: "NEEDS_ATTENTION" });

    faults.compensationFails = false;
    const retried = await admin(`sagas/tally/${id}/retry`, "POST");
    expect(retried).toMatchObject({ status: 200, body: { data: { retried: true } } });
    const settled = await eventually(
      async () => (await admin(`sagas/tally/${id}`)).body.data,
      (saga) => saga.status !== "NEEDS_ATTENTION" && saga.status !== "COMPENSATING",
    );
    expect(settled.status).toBe("COMPENSATED");

    // Settled: nothing left to retry.
    expectError(await admin(`sagas/tally/${id}/retry`, "POST"), 422, "FAILED_PRECONDITION");
  });

  it("answers 404 for an unknown saga or a service without sagas", async () => {
    expectError(await admin("sagas/tally/no-such-saga"), 404, "NOT_FOUND");
    expectError(await admin("sagas/tally/no-such-saga/retry", "POST"), 404, "SAGA_NOT_FOUND");
    expectError(await admin("sagas/audit"), 404, "NOT_FOUND");
    expectError(await admin("sagas/nope/x/retry", "POST"), 404, "NOT_FOUND");
  });

  it("answers 4xx for a malformed saga id", async () => {
    for (const id of ["%00", `x%00y`, "x".repeat(300)]) {
      const shown = await admin(`sagas/tally/${id}`);
      const retried = await admin(`sagas/tally/${id}/retry`, "POST");
      for (const reply of [shown, retried]) expectError(reply, 422, "VALIDATION_ERROR");
    }
  });

  it("answers 422 for bad query parameters", async () => {
    for (const query of [
      "limit=0",
      "limit=abc",
      "limit=-1",
      "limit=1e3",
      "status=BOGUS",
      "cursor=nope",
    ]) {
      expectError(await admin(`sagas/tally?${query}`), 422, "VALIDATION_ERROR");
    }
  });
});

describe("admin API: dead letters", () => {
  it("replay processes a dead letter once and removes it", async () => {
    const letter = await poisoned("poison-replayed");
    expect(letter).toMatchObject({ group: "audit.entries" });
    expect(await audited("poison-replayed")).toBe(0);
    const shown = await admin(`dead-letters/audit/${letter.id}`);
    expect(shown).toMatchObject({
      status: 200,
      body: { data: { ...letter, attempts: 1, error: "refusing poison-replayed" } },
    });

    faults.rejectPoison = false;
    const replayed = await admin(`dead-letters/audit/${letter.id}/replay`, "POST");
    expect(replayed).toMatchObject({ status: 200, body: { data: { outcome: "processed" } } });
    expect(await audited("poison-replayed")).toBe(5);
    expect((await deadLetters()).map((l) => l.id)).not.toContain(letter.id);
    expectError(await admin(`dead-letters/audit/${letter.id}`), 404, "NOT_FOUND");
    // Gone: a second replay finds nothing, and the effect stays single.
    expectError(await admin(`dead-letters/audit/${letter.id}/replay`, "POST"), 404, "NOT_FOUND");
    expect(await audited("poison-replayed")).toBe(5);
  });

  it("discard removes a dead letter, which is then never processed", async () => {
    const letter = await poisoned("poison-discarded");
    faults.rejectPoison = false;
    const discarded = await admin(`dead-letters/audit/${letter.id}`, "DELETE");
    expect(discarded).toMatchObject({ status: 200, body: { data: { discarded: true } } });
    expect((await deadLetters()).map((l) => l.id)).not.toContain(letter.id);
    expectError(await admin(`dead-letters/audit/${letter.id}/replay`, "POST"), 404, "NOT_FOUND");
    expectError(await admin(`dead-letters/audit/${letter.id}`, "DELETE"), 404, "NOT_FOUND");
    // Later entries are processed; the discarded one never is.
    await host.clientsFor("test").client(TallyService).add({ key: "after-discard", amount: 1 });
    await eventually(
      () => audited("after-discard"),
      (n) => n === 1,
    );
    expect(await audited("poison-discarded")).toBe(0);
  });

  it("pages with after and limit, and filters by group", async () => {
    const first = await poisoned("poison-page-1");
    const second = await poisoned("poison-page-2");
    const page = await admin(`dead-letters/audit?group=audit.entries&after=${first.id}&limit=1`);
    expect(page.body.data.map((l: DeadLetterRow) => l.id)).toEqual([second.id]);
    expect((await admin("dead-letters/audit?group=other")).body.data).toEqual([]);
  });

  it("answers 404 for an unknown dead letter or a service without consumers", async () => {
    expectError(await admin("dead-letters/audit/987654321/replay", "POST"), 404, "NOT_FOUND");
    expectError(await admin("dead-letters/audit/987654321", "DELETE"), 404, "NOT_FOUND");
    expectError(await admin("dead-letters/audit/987654321"), 404, "NOT_FOUND");
    expectError(await admin("dead-letters/tally"), 404, "NOT_FOUND");
    expectError(await admin("dead-letters/tally/1"), 404, "NOT_FOUND");
  });

  it("answers 422 for a malformed id or bad query parameters", async () => {
    for (const id of ["abc", "-1", "1.5", "%00", "99999999999999999999", "9223372036854775808"]) {
      expectError(await admin(`dead-letters/audit/${id}/replay`, "POST"), 422, "VALIDATION_ERROR");
      expectError(await admin(`dead-letters/audit/${id}`, "DELETE"), 422, "VALIDATION_ERROR");
      expectError(await admin(`dead-letters/audit/${id}`), 422, "VALIDATION_ERROR");
    }
    for (const query of ["limit=0", "limit=x", "after=abc", "after=-1"]) {
      expectError(await admin(`dead-letters/audit?${query}`), 422, "VALIDATION_ERROR");
    }
  });

  it("answers 405 for a wrong method, naming the allowed ones", async () => {
    const reply = await admin("dead-letters/audit/1/replay", "GET");
    expectError(reply, 405, "METHOD_NOT_ALLOWED");
    expect(reply.headers.get("allow")).toContain("POST");
    expectError(await admin("dead-letters/audit", "POST"), 405, "METHOD_NOT_ALLOWED");
    expectError(await admin("sagas/tally/x/retry", "DELETE"), 405, "METHOD_NOT_ALLOWED");
  });
});

describe("close", () => {
  it("stops in order: edge first, then services, outboxes, consumers, broker, storage, tracing", async () => {
    logLines.length = 0;
    await host.close();
    const steps = logLines.filter((l) => l["msg"] === "stopping").map((l) => l["step"]);
    expect(steps).toEqual([
      "http server",
      "edge",
      "service tally",
      "outbox audit",
      "outbox tally",
      "consumers audit",
      "http audit",
      "http tally",
      "unstarted services",
      "client policies",
      "broker",
      "storage",
      "tracing",
    ]);
    expect(logLines.at(-1)).toMatchObject({ msg: "shutdown complete", code: 0 });
    // Readiness had turned unhealthy before the edge closed: no traffic during the drain.
    expect(probes.readyWhileClosing).toEqual<HealthReport>({
      ok: false,
      checks: { shutdown: "unhealthy" },
    });
    await expect(fetch(url)).rejects.toThrow();
  });
});
