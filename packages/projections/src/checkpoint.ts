import type { Sql } from "@plexus/core";

/** Where a projection stands. */
export interface Checkpoint {
  /** Position of the last log event applied (0: none). */
  readonly position: number;
  /** A reset happened and no batch has reached the log's head since (an unfinished rebuild). */
  readonly rebuilding: boolean;
}

interface CheckpointRow {
  position: number | string | bigint;
  rebuilding: boolean;
}

/** The projection's checkpoint, or undefined when it was never built. */
export async function readCheckpoint(sql: Sql, name: string): Promise<Checkpoint | undefined> {
  const result = await sql.query<CheckpointRow>(
    "SELECT position, rebuilding FROM plexus_projections WHERE name = $1",
    [name],
  );
  const row = result.rows[0];
  return row && { position: Number(row.position), rebuilding: row.rebuilding };
}

/**
 * Starts the projection over in `tx`, its checkpoint at `to` (rebuilding unless that is the log's
 * head). `force` replaces an existing checkpoint (a rebuild); otherwise it only creates a missing
 * one, and says false when another process created it first (replicas starting together).
 */
export async function restartCheckpoint(
  tx: Sql,
  name: string,
  to: number,
  head: boolean,
  force: boolean,
): Promise<boolean> {
  const conflict = force
    ? "DO UPDATE SET position = EXCLUDED.position, rebuilding = EXCLUDED.rebuilding"
    : "DO NOTHING";
  const written = await tx.query(
    `INSERT INTO plexus_projections (name, position, rebuilding) VALUES ($1, $2, NOT $3::boolean)
     ON CONFLICT (name) ${conflict}`,
    [name, to, head],
  );
  return written.rowCount === 1;
}
