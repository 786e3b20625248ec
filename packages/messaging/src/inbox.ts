import type { CloudEvent, Db, Sql } from "@plexus/core";
import { ensureMessagingTables } from "./messaging-tables.ts";

/** What `handleOnce` did: ran the effect (and its value), or saw the event was already processed. */
export type HandleOnceResult<T> =
  { readonly processed: true; readonly value: T } | { readonly processed: false };

/**
 * Records that `group` processed `eventId`, in the caller's transaction `tx`. Returns true the
 * first time (apply the effect in the same transaction), false when it was already recorded
 * (skip the effect). A concurrent delivery of the same event waits on the first one's row lock
 * until that transaction ends: it then sees the record (false) if the first committed, or takes
 * over (true) if it rolled back — so N concurrent deliveries yield exactly one effect.
 *
 * The first time, the same statement also deletes the group's dead letter of the event, if any:
 * the event is processed after all (a republish after a crash, a replay), and it goes with the
 * effect's transaction — a failed effect rolls the deletion back too. Done in the inbox statement
 * because a dead letter rarely exists: a statement of its own would be one more per delivery.
 *
 * Needs the messaging tables (`ensureMessagingTables`).
 */
export async function processOnce(tx: Sql, group: string, eventId: string): Promise<boolean> {
  // The DELETE reads the INSERT's output, so it runs only once the inbox row is taken (never
  // holding a dead letter's lock while waiting for a concurrent delivery's inbox row).
  const { rows } = await tx.query(
    `WITH recorded AS (
       INSERT INTO plexus_inbox (group_name, event_id) VALUES ($1, $2)
       ON CONFLICT (group_name, event_id) DO NOTHING RETURNING 1 AS inserted
     ), cleared AS (
       DELETE FROM plexus_dead_letters WHERE group_name = $1 AND event_id = $2
         AND EXISTS (SELECT 1 FROM recorded)
     )
     SELECT inserted FROM recorded`,
    [group, eventId],
  );
  return rows.length === 1;
}

/**
 * `processOnce` for several events in one statement: records (`group`, id) for each of `eventIds`
 * and clears the group's dead letters of those recorded. Returns the ids recorded now (an id
 * listed twice is recorded once). Ids are taken in sorted order, so two batches sharing events
 * wait on each other instead of deadlocking.
 */
export async function processEachOnce(
  tx: Sql,
  group: string,
  eventIds: readonly string[],
): Promise<Set<string>> {
  const { rows } = await tx.query<{ event_id: string }>(
    `WITH recorded AS (
       INSERT INTO plexus_inbox (group_name, event_id)
       SELECT $1, id FROM unnest($2::text[]) AS id ORDER BY id
       ON CONFLICT (group_name, event_id) DO NOTHING RETURNING event_id
     ), cleared AS (
       DELETE FROM plexus_dead_letters WHERE group_name = $1
         AND event_id IN (SELECT event_id FROM recorded)
     )
     SELECT event_id FROM recorded`,
    [group, eventIds],
  );
  return new Set(rows.map((row) => row.event_id));
}

/** Whether `group` has processed `eventId` (committed). */
export async function isProcessed(sql: Sql, group: string, eventId: string): Promise<boolean> {
  const { rows } = await sql.query(
    "SELECT 1 AS found FROM plexus_inbox WHERE group_name = $1 AND event_id = $2",
    [group, eventId],
  );
  return rows.length === 1;
}

/**
 * Runs `effect` in one transaction with the inbox record of (`group`, `event.id`): the effect
 * happens at most once per group however often the event is delivered, concurrently or not, and
 * a failed effect leaves no record (the redelivery runs it again).
 *
 * Keep the effect to database work through `tx`: it cannot call other services (the storage
 * refuses that inside a transaction), and anything outside the transaction is not deduped.
 *
 * @example
 * await handleOnce(db, "notifications.orders", event, async (tx) => {
 *   await tx.query("INSERT INTO notifications (...) VALUES (...)", [...]);
 * });
 */
export async function handleOnce<T>(
  db: Db,
  group: string,
  event: Pick<CloudEvent, "id">,
  effect: (tx: Sql) => Promise<T>,
): Promise<HandleOnceResult<T>> {
  await ensureMessagingTables(db);
  return db.transaction(async (tx): Promise<HandleOnceResult<T>> => {
    if (!(await processOnce(tx, group, event.id))) return { processed: false };
    return { processed: true, value: await effect(tx) };
  });
}

/**
 * `handleOnce` for several events in one transaction, in order: one statement records them all in
 * the inbox, then `each` runs for every event, told whether this is its first time (apply the
 * effect) or it was already processed (skip it). All or nothing: when `each` throws, the
 * transaction rolls back — no record and no effect of any of them — and the error is rethrown.
 */
export async function handleEachOnce<E extends Pick<CloudEvent, "id">, T>(
  db: Db,
  group: string,
  events: readonly E[],
  each: (tx: Sql, event: E, first: boolean) => Promise<T>,
): Promise<T[]> {
  await ensureMessagingTables(db);
  return db.transaction(async (tx) => {
    const fresh = await processEachOnce(
      tx,
      group,
      events.map((event) => event.id),
    );
    const results: T[] = [];
    // `delete`: a second copy of an event in the batch is a duplicate of the first.
    for (const event of events) results.push(await each(tx, event, fresh.delete(event.id)));
    return results;
  });
}

/**
 * Deletes inbox records older than `olderThanMs`: after that, a redelivery of those events would
 * run again. Keep it well above the longest redelivery horizon (outbox backlog + broker retention).
 * Returns how many were deleted.
 */
export async function pruneInbox(db: Db, olderThanMs: number): Promise<number> {
  await ensureMessagingTables(db);
  const { rowCount } = await db.query(
    "DELETE FROM plexus_inbox WHERE processed_at < now() - make_interval(secs => $1::double precision / 1000)",
    [olderThanMs],
  );
  return rowCount;
}
