/** A log's name is its table and its wake-up channel (`Sql.notify`): the shape of both. */
const logNamePattern = /^[a-z][a-z0-9_]{0,39}$/;

function checkLogName(log: string): string {
  if (!logNamePattern.test(log)) {
    throw new TypeError(
      `invalid event log name "${log}": use 1-40 lowercase letters, digits and _ (a letter first)`,
    );
  }
  return log;
}

/**
 * The SQL expression an event log's append runs first, so that positions commit in order (the
 * `Projection.log` contract, ADR 19): a transaction-scoped advisory lock per log and schema, held
 * from the append to the commit. Two appends to one log thus commit one after the other, and the
 * second takes its position after the first committed. Put it in the append's own statement (a
 * `MATERIALIZED` CTE, evaluated before the row and its identity), so it costs no statement, and
 * append as late in the transaction as you can: the lock is held until it ends. Notify the log's
 * channel in the same transaction: its projections wake at the commit.
 *
 * @example
 * await tx.query(
 *   `WITH append_lock AS MATERIALIZED (SELECT ${eventLogAppendLock("order_events")})
 *    INSERT INTO order_events (event_id, event) SELECT $1, $2::jsonb FROM append_lock`,
 *   [event.id, JSON.stringify(event)],
 * );
 * tx.notify("order_events");
 */
export function eventLogAppendLock(log: string): string {
  // 0x504c584c = "PLXL"; the second key is per schema and log (hashtext is stable across servers).
  return `pg_advisory_xact_lock(1347180620, hashtext(current_schema() || '.${checkLogName(log)}'))`;
}

/** The statements a projection runs against its log, made once per projection. */
export interface LogStatements {
  /**
   * `$1` after, `$2` batch size: the batch after a position plus one event, whose presence says
   * the batch does not reach the log's head.
   */
  readonly read: string;
  /**
   * `$1` projection, `$2` its checkpoint as the runner knows it, `$3` batch size. In one
   * statement: reads the next batch, moves the checkpoint to its last event if it still stands at
   * `$2` (ending a rebuild when the batch reaches the head), and returns the batch's events (one
   * row of NULLs when there are none) with `moved`, `more` (the log goes on past the batch) and
   * the `checkpoint` as the statement found it.
   */
  readonly next: string;
  /** `$1` projection: its checkpoint (`position`, `rebuilding`; NULL when never built) and the log's `head`. */
  readonly standing: string;
}

export function logStatements(log: string): LogStatements {
  const table = checkLogName(log);
  return {
    read: `SELECT position, event FROM ${table} WHERE position > $1 ORDER BY position
           LIMIT $2::int + 1`,
    next: `WITH batch AS (
             SELECT position, event FROM ${table} WHERE position > $2 ORDER BY position
             LIMIT $3::int + 1
           ), applied AS (
             SELECT position, event FROM batch ORDER BY position LIMIT $3::int
           ), moved AS (
             UPDATE plexus_projections
             SET position = (SELECT max(position) FROM applied),
                 rebuilding = rebuilding AND (SELECT count(*) FROM batch) > $3::int
             WHERE name = $1 AND position = $2 AND EXISTS (SELECT 1 FROM applied)
             RETURNING 1
           )
           SELECT EXISTS (SELECT 1 FROM moved) AS moved,
             (SELECT count(*) FROM batch) > $3::int AS more,
             (SELECT position FROM plexus_projections WHERE name = $1) AS checkpoint,
             applied.position, applied.event
           FROM (SELECT 1) AS one LEFT JOIN applied ON true
           ORDER BY applied.position`,
    standing: `SELECT p.position, p.rebuilding,
             (SELECT coalesce(max(position), 0) FROM ${table}) AS head
           FROM (SELECT 1) AS one LEFT JOIN plexus_projections p ON p.name = $1`,
  };
}
