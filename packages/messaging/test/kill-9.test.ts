import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { openStorage } from "@plexus/storage";
import { createTestDatabase, requireServer } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { startShopMessaging } from "./fixtures/shop-messaging.ts";
import { eventually } from "./helpers.ts";

/*
 * A real crash: a child process places orders while its relay and consumers run, and is killed
 * with SIGKILL at an arbitrary moment, several times over, on the same Postgres database. Then a
 * fresh start must deliver every committed event exactly once to each group. (Postgres only:
 * PGlite's files are not meant to survive a kill -9 of the process writing them.)
 */

const child = fileURLToPath(new URL("./fixtures/crash-child.ts", import.meta.url));
const postgresUp = await requireServer("postgres");

/** Resolves once the child's relay has published at least `count` events (it is mid-work). */
function publishedAtLeast(proc: ChildProcess, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString("utf8");
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        const m = /^published (\d+)$/.exec(line);
        if (m && Number(m[1]) >= count) {
          proc.stdout?.off("data", onData);
          resolve();
        }
      }
    };
    proc.stdout?.on("data", onData);
    proc.once("exit", (code) => reject(new Error(`child exited early (${code})`)));
  });
}

describe.runIf(postgresUp)("kill -9 on postgres", () => {
  it("loses no committed event and duplicates no effect", { timeout: 120_000 }, async () => {
    const database = await createTestDatabase({ prefix: "plexus_msg" });
    try {
      for (const [published, extraMs] of [
        [8, 0],
        [12, 37],
        [4, 113],
      ] as const) {
        const proc = spawn(process.execPath, [child, database.url], {
          stdio: ["ignore", "pipe", "inherit"],
        });
        try {
          await publishedAtLeast(proc, published);
          await new Promise((resolve) => setTimeout(resolve, extraMs));
        } finally {
          proc.kill("SIGKILL");
          if (proc.exitCode === null && proc.signalCode === null) await once(proc, "exit");
        }
      }

      const storage = await openStorage({ databaseUrl: database.url });
      try {
        const shop = await startShopMessaging(storage, { leaseTtlMs: 300, pollIntervalMs: 20 });
        // Evidence that the kills interrupted work (unsent rows, unprocessed events) is in
        // `pending()` here; it is not asserted, since a kill may land between two batches.
        await eventually(async () => (await shop.outbox.pending()) === 0);
        await shop.outbox.close();
        for (const runtime of shop.runtimes) await runtime.close();
        await shop.broker.close();

        const { rows: committed } = await shop.orders.query<{ event_id: string }>(
          "SELECT event_id FROM plexus_outbox ORDER BY event_id",
        );
        expect(committed.length).toBeGreaterThanOrEqual(24);
        const expected = committed.map((r) => r.event_id);
        for (const [service, db] of Object.entries(shop.consumers)) {
          const { rows } = await db.query<{ event_id: string }>(
            "SELECT event_id FROM effects ORDER BY event_id",
          );
          expect(
            rows.map((r) => r.event_id),
            service,
          ).toEqual(expected);
        }
      } finally {
        await storage.close();
      }
    } finally {
      await database.drop();
    }
  });
});
