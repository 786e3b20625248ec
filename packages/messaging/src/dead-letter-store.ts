import {
  validationError,
  type CloudEvent,
  type DeadLetterInput,
  type Db,
  type Sql,
} from "@plexus/core";
import { ensureMessagingTables } from "./messaging-tables.ts";
import { parseCloudEvent } from "./parse-cloud-event.ts";

/** A message a consumer group gave up on, as stored in `plexus_dead_letters`. */
export interface DeadLetter {
  /** Store id (a decimal string: the column is a bigint). */
  readonly id: string;
  readonly group: string;
  /** The event, when its envelope was valid. */
  readonly event?: CloudEvent;
  /** The payload as received, when the envelope was malformed. */
  readonly raw?: string;
  readonly eventId?: string;
  readonly eventType?: string;
  /** The last failure's message. */
  readonly error: string;
  /** Deliveries (and replays) that failed, summed over every time it was parked. */
  readonly attempts: number;
  readonly firstFailedAt: Date;
  readonly lastFailedAt: Date;
}

export interface ListDeadLettersOptions {
  /** Only this consumer group's. Default: every group's. */
  group?: string;
  /** Page size. Default 100, at most 1000. */
  limit?: number;
  /** Keyset pagination: entries with an id above this one. */
  afterId?: string;
}

/** The dead letters of one service, in its own schema. */
export interface DeadLetterStore {
  /**
   * Parks a message. The same event dead-lettered again for the same group (a republish after a
   * crash) updates its entry rather than adding one; malformed payloads get an entry each.
   */
  add(letter: DeadLetterInput): Promise<void>;
  /** Oldest first. */
  list(options?: ListDeadLettersOptions): Promise<DeadLetter[]>;
  get(id: string): Promise<DeadLetter | undefined>;
  count(group?: string): Promise<number>;
  /** Deletes an entry (after a successful replay, or to discard it). True when it existed. */
  remove(id: string, sql?: Sql): Promise<boolean>;
  /** Records one more failure of an entry (a failed replay). */
  recordFailure(id: string, error: string, at: number): Promise<void>;
}

interface Row {
  id: number | bigint | string;
  group_name: string;
  event_id: string | null;
  event_type: string | null;
  event: unknown;
  raw: Uint8Array | null;
  error: string;
  attempts: number;
  first_failed_at: Date;
  last_failed_at: Date;
}

const columns =
  "id, group_name, event_id, event_type, event, raw, error, attempts, first_failed_at, last_failed_at";

function toDeadLetter(row: Row): DeadLetter {
  const parsed = row.event === null ? undefined : parseCloudEvent(row.event);
  const letter: { -readonly [K in keyof DeadLetter]: DeadLetter[K] } = {
    id: String(row.id),
    group: row.group_name,
    error: row.error,
    attempts: row.attempts,
    firstFailedAt: row.first_failed_at,
    lastFailedAt: row.last_failed_at,
  };
  if (parsed?.ok) letter.event = parsed.event;
  if (row.raw !== null) letter.raw = Buffer.from(row.raw).toString("utf8");
  if (row.event_id !== null) letter.eventId = row.event_id;
  if (row.event_type !== null) letter.eventType = row.event_type;
  return letter;
}

const maxBigint = 9_223_372_036_854_775_807n;

/**
 * A store id: a positive decimal within Postgres' bigint. Anything else (an operator's typo in
 * the admin API) is a validation error, never a storage error.
 */
function checkId(id: string, field = "id"): string {
  if (!/^[0-9]{1,19}$/.test(id) || BigInt(id) > maxBigint) {
    throw validationError([{ field, message: "must be a dead letter id (a positive integer)" }]);
  }
  return id;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Postgres text cannot hold NUL; an error message that has one must still be storable. */
const storable = (text: string): string => text.replaceAll("\u0000", "\\u0000").slice(0, 4000);

/**
 * The dead-letter store of a service (`plexus_dead_letters` in its schema). The consumer runtime
 * writes to it; operators list, replay (through the runtime) and discard.
 */
export function createDeadLetterStore(db: Db): DeadLetterStore {
  const ready = (): Promise<void> => ensureMessagingTables(db);
  return {
    async add(letter) {
      await ready();
      await db.query(
        `INSERT INTO plexus_dead_letters
           (group_name, event_id, event_type, event, raw, error, attempts, first_failed_at, last_failed_at)
         VALUES ($1, $2, $3, $4::jsonb, $5::bytea, $6, $7, $8::timestamptz, $9::timestamptz)
         ON CONFLICT (group_name, event_id) DO UPDATE SET
           error = EXCLUDED.error,
           attempts = plexus_dead_letters.attempts + EXCLUDED.attempts,
           last_failed_at = EXCLUDED.last_failed_at`,
        [
          letter.group,
          letter.event?.id ?? null,
          letter.event?.type ?? null,
          letter.event ? JSON.stringify(letter.event) : null,
          // bytea, not text: a payload may hold NUL, which Postgres text cannot store.
          letter.event ? null : Buffer.from(letter.raw ?? "", "utf8"),
          storable(letter.reason),
          letter.attempts,
          iso(letter.firstFailureAt),
          iso(letter.lastFailureAt),
        ],
      );
    },
    async list(options = {}) {
      await ready();
      const limit = Math.min(Math.max(1, Math.floor(options.limit ?? 100)), 1000);
      const after = options.afterId === undefined ? "0" : checkId(options.afterId, "after");
      const { rows } = await db.query<Row>(
        `SELECT ${columns} FROM plexus_dead_letters
         WHERE id > $1::bigint AND ($2::text IS NULL OR group_name = $2)
         ORDER BY id LIMIT $3`,
        [after, options.group ?? null, limit],
      );
      return rows.map(toDeadLetter);
    },
    async get(id) {
      await ready();
      const { rows } = await db.query<Row>(
        `SELECT ${columns} FROM plexus_dead_letters WHERE id = $1::bigint`,
        [checkId(id)],
      );
      return rows[0] && toDeadLetter(rows[0]);
    },
    async count(group) {
      await ready();
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*)::integer AS n FROM plexus_dead_letters WHERE $1::text IS NULL OR group_name = $1",
        [group ?? null],
      );
      return rows[0]?.n ?? 0;
    },
    async remove(id, sql) {
      if (!sql) await ready();
      const { rowCount } = await (sql ?? db).query(
        "DELETE FROM plexus_dead_letters WHERE id = $1::bigint",
        [checkId(id)],
      );
      return rowCount > 0;
    },
    async recordFailure(id, error, at) {
      await ready();
      await db.query(
        `UPDATE plexus_dead_letters
         SET error = $2, attempts = attempts + 1, last_failed_at = $3::timestamptz
         WHERE id = $1::bigint`,
        [checkId(id), storable(error), iso(at)],
      );
    },
  };
}
