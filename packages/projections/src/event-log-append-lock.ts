const logNamePattern = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * The SQL expression an event log's append runs first, so that positions commit in order (the
 * `EventLog` contract, ADR 19): a transaction-scoped advisory lock per log and schema, held from
 * the append to the commit. Two appends to one log thus commit one after the other, and the
 * second takes its position after the first committed. Put it in the append's own statement (a
 * `MATERIALIZED` CTE, evaluated before the row and its identity), so it costs no statement, and
 * append as late in the transaction as you can: the lock is held until it ends.
 *
 * @example
 * await tx.query(
 *   `WITH append_lock AS MATERIALIZED (SELECT ${eventLogAppendLock("order_events")})
 *    INSERT INTO order_events (event_id, event) SELECT $1, $2::jsonb FROM append_lock`,
 *   [event.id, JSON.stringify(event)],
 * );
 */
export function eventLogAppendLock(log: string): string {
  if (!logNamePattern.test(log)) {
    throw new TypeError(`invalid event log name "${log}": use lowercase letters, digits and _`);
  }
  // 0x504c584c = "PLXL"; the second key is per schema and log (hashtext is stable across servers).
  return `pg_advisory_xact_lock(1347180620, hashtext(current_schema() || '.${log}'))`;
}
