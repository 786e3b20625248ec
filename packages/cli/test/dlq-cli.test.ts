/**
 * `plexus dlq`, black-box: the real binary as a child process against a real host (the host
 * tests' tally topology, started here, whose audit consumer dead-letters "poison" entries while
 * `faults.rejectPoison` holds), over the admin API on real HTTP.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@plexus/core";
import { startHost, type Host } from "@plexus/host";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPlexus, type PlexusRun } from "../../../test/support/plexus-cli.ts";
import { AuditService, TallyService } from "../../host/test/tally-contract.ts";
import { faults, tallyHost } from "../../host/test/tally-topology.ts";

const token = "dlq-cli-test-admin-token-0123456789";
let dataDir: string;
let host: Host;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "plexus-dlq-cli-"));
  host = await startHost({
    spec: tallyHost,
    config: { PLEXUS_DATA_DIR: dataDir, PLEXUS_ADMIN_TOKEN: token },
    port: 0,
    logger: createLogger({ name: "dlq-cli-test", level: "silent" }),
    exit: () => undefined,
  });
}, 120_000);

afterAll(async () => {
  await host?.close();
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

/** `plexus dlq <args> --url <the host>` with the admin token. */
const dlq = (...args: string[]): Promise<PlexusRun> =>
  runPlexus(["dlq", ...args, "--url", host.url!], { PLEXUS_ADMIN_TOKEN: token });

interface Letter {
  id: string;
  group: string;
  attempts: number;
  error: string;
  event: { data: { key: string } };
}

async function listed(): Promise<Letter[]> {
  const run = await dlq("list", "audit", "--json");
  expect(run).toMatchObject({ code: 0, stderr: "" });
  return JSON.parse(run.stdout) as Letter[];
}

const audited = async (key: string): Promise<number> =>
  (await host.clientsFor("test").client(AuditService).count({ key })).total;

/** Adds an entry the audit refuses, and returns its dead letter once listed. */
async function poisoned(key: string): Promise<Letter> {
  faults.rejectPoison = true;
  await host.clientsFor("test").client(TallyService).add({ key, amount: 5 });
  const until = Date.now() + 15_000;
  for (;;) {
    const reply = await fetch(`${host.url}/_plexus/api/dead-letters/audit`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const letters = ((await reply.json()) as { data: Letter[] }).data;
    const letter = letters.find((l) => l.event.data.key === key);
    if (letter) return letter;
    if (Date.now() > until) throw new Error(`no dead letter for ${key}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A failure as the CLI must report it: exit 1, one line on stderr, no stack, nothing on stdout. */
function expectFailureLine(run: PlexusRun, line: RegExp): void {
  expect(run).toMatchObject({ code: 1, stdout: "" });
  expect(run.stderr).toMatch(/^plexus: [^\n]+\n$/);
  expect(run.stderr).toMatch(line);
}

// Each command is a process of its own: a busy machine takes seconds to start several.
describe("plexus dlq against a running host", { timeout: 90_000 }, () => {
  it("lists, shows and replays a dead letter: the event is handled and the letter gone", async () => {
    const letter = await poisoned("poison-replayed");
    const other = await poisoned("poison-waiting");

    const table = await dlq("list", "audit");
    expect(table).toMatchObject({ code: 0, stderr: "" });
    const [header, ...rows] = table.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^ID +GROUP +EVENT TYPE +EVENT ID +ATTEMPTS +LAST FAILED +ERROR$/);
    expect(rows).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${letter.id} +audit\\.entries +test\\.tally\\.v1\\.Entry .* refusing poison-replayed$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(`^${other.id} +audit\\.entries .* refusing poison-waiting$`),
      ),
    ]);
    expect((await listed()).map((l) => l.id)).toEqual([letter.id, other.id]);

    // A page of one names the next; the next starts after it.
    const first = await dlq("list", "audit", "--limit", "1");
    expect(first.stdout).toContain(`more: plexus dlq list audit --limit 1 --cursor ${letter.id}\n`);
    const next = await dlq("list", "audit", "--limit", "1", "--cursor", letter.id, "--json");
    expect((JSON.parse(next.stdout) as Letter[]).map((l) => l.id)).toEqual([other.id]);

    const shown = await dlq("show", "audit", letter.id);
    expect(shown).toMatchObject({ code: 0, stderr: "" });
    expect(shown.stdout).toMatch(/^id +\d+\ngroup +audit\.entries\n/);
    expect(shown.stdout).toMatch(/\nerror +refusing poison-replayed\n/);
    expect(shown.stdout).toMatch(/\nevent:\n\{\n[^]*"key": "poison-replayed"/);
    const shownJson = await dlq("show", "audit", letter.id, "--json");
    expect(JSON.parse(shownJson.stdout)).toEqual(letter);

    faults.rejectPoison = false;
    const replayed = await dlq("replay", "audit", letter.id);
    expect(replayed).toEqual({
      code: 0,
      stdout: `replayed dead letter ${letter.id} of audit: handled\n`,
      stderr: "",
    });
    expect(await audited("poison-replayed")).toBe(5);
    expect((await listed()).map((l) => l.id)).toEqual([other.id]);
    // Gone: replaying or showing it again is refused, and the effect stays single.
    expectFailureLine(
      await dlq("replay", "audit", letter.id),
      new RegExp(`^plexus: no dead letter ${letter.id} \\(404 NOT_FOUND\\): check the service`),
    );
    expectFailureLine(await dlq("show", "audit", letter.id), /\(404 NOT_FOUND\)/);
    expect(await audited("poison-replayed")).toBe(5);
  });

  it("discards a dead letter, whose event is then never handled", async () => {
    const letter = await poisoned("poison-discarded");
    faults.rejectPoison = false;
    const discarded = await dlq("discard", "audit", letter.id, "--json");
    expect(discarded).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(discarded.stdout)).toEqual({ discarded: true });
    expect((await listed()).map((l) => l.id)).not.toContain(letter.id);
    expectFailureLine(await dlq("discard", "audit", letter.id), /\(404 NOT_FOUND\)/);
    expect(await audited("poison-discarded")).toBe(0);
  });

  it("reports a replay whose handler fails again in one line; the letter stays, one attempt more", async () => {
    const letter = await poisoned("poison-again");
    expectFailureLine(
      await dlq("replay", "audit", letter.id),
      /^plexus: refusing poison-again \(400 BAD_REQUEST\): it stays a dead letter; fix what its error says/,
    );
    expect((await listed()).find((l) => l.id === letter.id)).toMatchObject({ attempts: 2 });
  });

  it("reports a wrong token, an unknown service and an unreachable host in one line each", async () => {
    expectFailureLine(
      await runPlexus(["dlq", "list", "audit", "--url", host.url!], {
        PLEXUS_ADMIN_TOKEN: "not-the-admin-token-at-all",
      }),
      /\(401 UNAUTHENTICATED\): set PLEXUS_ADMIN_TOKEN to the admin token the host runs with$/m,
    );
    expectFailureLine(
      await dlq("list", "tally"),
      /^plexus: no dead letters for service "tally" \(404 NOT_FOUND\)/,
    );
    expectFailureLine(
      await runPlexus(["dlq", "list", "audit"], { PLEXUS_ADMIN_TOKEN: token, PORT: "1" }),
      /^plexus: cannot reach the admin API at http:\/\/127\.0\.0\.1:1/,
    );
  });

  it("prints the usage on stderr and exits 2 for a wrong command line, on stdout for --help", async () => {
    for (const args of [["dlq"], ["dlq", "retry", "audit", "1"], ["dlq", "show", "audit"]]) {
      const run = await runPlexus(args, { PLEXUS_ADMIN_TOKEN: token });
      expect(run).toMatchObject({ code: 2, stdout: "" });
      expect(run.stderr).toMatch(/^plexus dlq: [^\n]+\n\nusage: plexus dlq <subcommand>/);
    }
    const help = await runPlexus(["dlq", "--help"]);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^usage: plexus dlq[^]*replay <service> <id>/);
    expect((await runPlexus(["--help"])).stdout).toMatch(/\n {2}dlq <subcommand> /);
  });
});
