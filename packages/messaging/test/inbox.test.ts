import {
  ensureMessagingTables,
  handleOnce,
  isProcessed,
  processOnce,
  pruneInbox,
} from "@plexus/messaging";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, type OpenedStorage } from "./backends.ts";

const all = await backends();

describe.each(all)("inbox on $kind", (backend) => {
  const suite = backend.available ? describe : describe.skip;
  suite("dedupe", () => {
    let opened: OpenedStorage;
    beforeAll(async () => {
      opened = await backend.open();
    });
    afterAll(async () => {
      await opened?.close();
    });

    it("applies one effect for N concurrent deliveries of one event", async () => {
      const db = await opened.service("inbox_conc");
      await db.query("CREATE TABLE effects (event_id text NOT NULL, n serial PRIMARY KEY)");
      let ran = 0;
      const deliveries = Array.from({ length: 12 }, () =>
        handleOnce(db, "billing", { id: "evt-1" }, async (tx) => {
          ran += 1;
          await tx.query("INSERT INTO effects (event_id) VALUES ($1)", ["evt-1"]);
          return "charged";
        }),
      );
      const results = await Promise.all(deliveries);
      expect(results.filter((r) => r.processed)).toEqual([{ processed: true, value: "charged" }]);
      expect(ran).toBe(1);
      const { rows } = await db.query<{ n: number }>("SELECT count(*)::integer AS n FROM effects");
      expect(rows[0]?.n).toBe(1);
    });

    it("keeps groups apart: each group gets its own effect", async () => {
      const db = await opened.service("inbox_groups");
      const a = await handleOnce(db, "billing", { id: "e" }, async () => 1);
      const b = await handleOnce(db, "shipping", { id: "e" }, async () => 2);
      const again = await handleOnce(db, "billing", { id: "e" }, async () => 3);
      expect([a, b, again]).toEqual([
        { processed: true, value: 1 },
        { processed: true, value: 2 },
        { processed: false },
      ]);
    });

    it("leaves no record when the effect fails, so the redelivery runs it", async () => {
      const db = await opened.service("inbox_fail");
      await db.query("CREATE TABLE effects (event_id text PRIMARY KEY)");
      await expect(
        handleOnce(db, "billing", { id: "e1" }, async (tx) => {
          await tx.query("INSERT INTO effects VALUES ('e1')");
          throw new Error("downstream rule failed");
        }),
      ).rejects.toThrow("downstream rule failed");
      expect(await isProcessed(db, "billing", "e1")).toBe(false);
      const { rows: none } = await db.query("SELECT * FROM effects");
      expect(none).toEqual([]); // the effect rolled back with the record
      const retry = await handleOnce(db, "billing", { id: "e1" }, async (tx) => {
        await tx.query("INSERT INTO effects VALUES ('e1')");
      });
      expect(retry.processed).toBe(true);
      expect(await isProcessed(db, "billing", "e1")).toBe(true);
    });

    it("lets a caller record the event in its own transaction (processOnce)", async () => {
      const db = await opened.service("inbox_tx");
      await ensureMessagingTables(db);
      const first = await db.transaction((tx) => processOnce(tx, "g", "e"));
      const second = await db.transaction((tx) => processOnce(tx, "g", "e"));
      expect([first, second]).toEqual([true, false]);
      // Rolled back: not recorded.
      await expect(
        db.transaction(async (tx) => {
          await processOnce(tx, "g", "rolled");
          throw new Error("no");
        }),
      ).rejects.toThrow("no");
      expect(await isProcessed(db, "g", "rolled")).toBe(false);
    });

    it("clears the group's stale dead letter of an event with its record, never without it", async () => {
      const db = await opened.service("inbox_dead");
      await ensureMessagingTables(db);
      const park = (group: string, eventId: string) =>
        db.query(
          `INSERT INTO plexus_dead_letters
             (group_name, event_id, error, attempts, first_failed_at, last_failed_at)
           VALUES ($1, $2, 'down', 1, now(), now())`,
          [group, eventId],
        );
      const parked = async (): Promise<string[]> =>
        (
          await db.query<{ k: string }>(
            "SELECT group_name || '/' || event_id AS k FROM plexus_dead_letters ORDER BY 1",
          )
        ).rows.map((row) => row.k);
      await park("g", "e");
      await park("other", "e");
      await park("g", "done");
      await handleOnce(db, "g", { id: "done" }, async () => {});
      // A failed effect rolls the clearing back with the record.
      await expect(
        handleOnce(db, "g", { id: "e" }, async () => {
          throw new Error("still down");
        }),
      ).rejects.toThrow("still down");
      expect(await parked()).toEqual(["g/e", "other/e"]);
      // A duplicate (already recorded) clears nothing: a dead letter parked since stays.
      await park("g", "done");
      expect(await handleOnce(db, "g", { id: "done" }, async () => {})).toEqual({
        processed: false,
      });
      await handleOnce(db, "g", { id: "e" }, async () => {});
      expect(await parked()).toEqual(["g/done", "other/e"]);
    });

    it("prunes old records only", async () => {
      const db = await opened.service("inbox_prune");
      await handleOnce(db, "g", { id: "old" }, async () => {});
      await handleOnce(db, "g", { id: "new" }, async () => {});
      await db.query(
        "UPDATE plexus_inbox SET processed_at = now() - interval '2 days' WHERE event_id = 'old'",
      );
      expect(await pruneInbox(db, 24 * 3600 * 1000)).toBe(1);
      expect(await isProcessed(db, "g", "old")).toBe(false);
      expect(await isProcessed(db, "g", "new")).toBe(true);
    });
  });
});
