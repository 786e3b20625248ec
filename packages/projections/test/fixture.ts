import type { CloudEvent, Db, Migration, Projection, Sql } from "@plexus/core";
import { eventLogAppendLock } from "@plexus/projections";

/**
 * A service with an event log (`test_events`) and a read model that records the order in which
 * events were applied (`folded`, one row): what the projection shows must equal a fold of the log
 * — every event of its types exactly once, in position order — whatever happened in between.
 */
export const fixtureMigrations: readonly Migration[] = [
  {
    id: 1,
    name: "log and read model",
    sql: `
CREATE TABLE test_events (
  position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event jsonb NOT NULL
);
CREATE TABLE folded (id int PRIMARY KEY, ids text NOT NULL);
INSERT INTO folded VALUES (1, '');
`,
  },
];

export const counted = "test.v1.Counted";
export const ignored = "test.v1.Ignored";

export function testEvent(id: string, type = counted): CloudEvent {
  return {
    id,
    source: "/test",
    type,
    specversion: "1.0",
    time: "2026-01-01T00:00:00.000Z",
    datacontenttype: "application/json",
    dataschema: `https://plexus.test/${type}`,
    data: {},
  };
}

/** Appends in `tx` as a service's log writer must: under the log's append lock (ADR 19). */
export async function append(tx: Sql, event: CloudEvent): Promise<void> {
  await tx.query(
    `WITH append_lock AS MATERIALIZED (SELECT ${eventLogAppendLock("test_events")})
     INSERT INTO test_events (event) SELECT $1::jsonb FROM append_lock`,
    [JSON.stringify(event)],
  );
  tx.notify("test_events");
}

export interface FixtureProjectionOptions {
  /** Called before each apply, inside its transaction: throw to fail the batch. */
  readonly beforeApply?: (event: CloudEvent) => void;
  readonly name?: string;
}

export function fixtureProjection(options: FixtureProjectionOptions = {}): Projection {
  return {
    name: options.name ?? "folded",
    log: "test_events",
    types: [counted],
    async apply(tx, event) {
      options.beforeApply?.(event);
      await tx.query("UPDATE folded SET ids = ids || $1 || ',' WHERE id = 1", [event.id]);
    },
    async reset(tx) {
      await tx.query("UPDATE folded SET ids = '' WHERE id = 1");
    },
  };
}

/** What the projection shows. */
export async function folded(db: Db): Promise<string> {
  const result = await db.query<{ ids: string }>("SELECT ids FROM folded WHERE id = 1");
  return result.rows[0]?.ids ?? "";
}

/** The fold of the whole log: what the projection must show once caught up. */
export async function foldOfLog(db: Db): Promise<string> {
  const result = await db.query<{ ids: string }>(
    `SELECT coalesce(string_agg((event->>'id') || ',', '' ORDER BY position), '') AS ids
     FROM test_events WHERE event->>'type' = $1`,
    [counted],
  );
  return result.rows[0]?.ids ?? "";
}
