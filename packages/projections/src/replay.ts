import type { CloudEvent, Db, Projection, Sql } from "@plexus/core";
import { compileTypeFilter, type EventTypeFilter } from "@plexus/messaging";
import { ProjectionApplyError } from "./apply-error.ts";
import { readCheckpoint, restartCheckpoint } from "./checkpoint.ts";
import { logStatements, type LogStatements } from "./event-log-sql.ts";

/** A projection made ready to run: its type filter and statements (a bad one fails at start-up). */
export interface CompiledProjection {
  readonly projection: Projection;
  readonly handles: EventTypeFilter;
  readonly sql: LogStatements;
}

export function compileProjection(projection: Projection): CompiledProjection {
  return {
    projection,
    handles: compileTypeFilter(projection.types),
    sql: logStatements(projection.log),
  };
}

/** What a replay did. */
export interface Replayed {
  /** Log events it moved past (applied, or skipped as not the projection's types). */
  readonly events: number;
  /** The checkpoint it left. */
  readonly position: number;
}

/** Whether batchSize is usable; a RangeError names it otherwise. */
export function checkBatchSize(batchSize: number): number {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be an integer >= 1, got ${batchSize}`);
  }
  return batchSize;
}

interface LogRow {
  position: number | string | null;
  event: CloudEvent | null;
}

interface NextRow extends LogRow {
  moved: boolean;
  more: boolean;
  checkpoint: number | string | null;
}

async function applyAll(
  tx: Sql,
  { projection, handles }: CompiledProjection,
  rows: readonly LogRow[],
): Promise<void> {
  for (const [index, { event, position }] of rows.entries()) {
    if (!event || !handles(event.type)) continue;
    try {
      await projection.apply(tx, event);
    } catch (error) {
      throw new ProjectionApplyError(projection.name, event, Number(position), index, error);
    }
  }
}

/** What one transaction of a catch-up did. */
type Step =
  | { readonly moved: true; readonly to: number; readonly events: number; readonly head: boolean }
  | { readonly moved: false; readonly checkpoint: number; readonly empty: boolean };

/**
 * Applies the log from the checkpoint `from` up to its head, one transaction per batch: one
 * statement reads the batch and moves the checkpoint past it (compare-and-set), then the batch is
 * applied. When the checkpoint moved under it (a replica applied that batch first, or a rebuild
 * reset it), it continues from wherever the checkpoint now stands: every event is applied once,
 * in log order, whoever applies it. It ends on a batch that reached the log's head, or on finding
 * nothing new with the checkpoint where it left it. `signal` stops it between batches.
 *
 * An `apply` that throws rolls its batch back; the events before it in that batch are then
 * applied in a batch of their own, so the checkpoint stops right before the failing event, and
 * the `ProjectionApplyError` is thrown.
 */
export async function catchUp(
  db: Db,
  compiled: CompiledProjection,
  from: number,
  batchSize: number,
  signal?: AbortSignal,
): Promise<Replayed> {
  const { name } = compiled.projection;
  let position = from;
  let events = 0;
  let limit = batchSize;
  // The failure to throw once the events before it are applied.
  let held: ProjectionApplyError | undefined;
  for (;;) {
    signal?.throwIfAborted();
    const at = position;
    const size = limit;
    const step = await db
      .transaction(async (tx): Promise<Step> => {
        const { rows } = await tx.query<NextRow>(compiled.sql.next, [name, at, size]);
        const first = rows[0];
        if (!first || first.checkpoint === null) {
          throw new Error(`projection "${name}" lost its checkpoint`);
        }
        const batch = first.position === null ? [] : rows;
        if (first.moved) {
          await applyAll(tx, compiled, batch);
          const to = Number(batch.at(-1)?.position);
          return { moved: true, to, events: batch.length, head: !first.more };
        }
        if (batch.length === 0) {
          return { moved: false, checkpoint: Number(first.checkpoint), empty: true };
        }
        // Another runner (or a rebuild) moved the checkpoint while this statement waited for its
        // row: the statement's own reading of it predates that, so read it again.
        const current = await readCheckpoint(tx, name);
        if (!current) throw new Error(`projection "${name}" lost its checkpoint`);
        return { moved: false, checkpoint: current.position, empty: false };
      })
      .catch((error: unknown) => {
        if (held || !(error instanceof ProjectionApplyError) || error.index === 0) throw error;
        held = error;
        return undefined;
      });
    if (step === undefined) {
      // Apply the events before the failing one alone, then throw its failure.
      limit = held?.index ?? batchSize;
      continue;
    }
    if (held) throw held;
    if (step.moved) {
      position = step.to;
      events += step.events;
      if (step.head) return { events, position };
    } else {
      // Nothing new, or the checkpoint moved: it may have moved back (a rebuild reset it, or one
      // was interrupted), with events to replay that are not new.
      if (step.empty && step.checkpoint === position) return { events, position };
      position = step.checkpoint;
    }
  }
}

/**
 * Starts the projection over: resets it and applies the log's first batch in one transaction
 * with its new checkpoint, so readers go from the old read model to a partial new one, never
 * through an empty one (while the log is not). `force` replaces an existing checkpoint (a
 * rebuild); otherwise only a missing one, and it resolves undefined when another process built
 * the projection first. An `apply` that throws leaves the events before it applied (as in
 * {@link catchUp}) and its `ProjectionApplyError` thrown.
 */
export async function startOver(
  db: Db,
  compiled: CompiledProjection,
  force: boolean,
  batchSize: number,
): Promise<Replayed | undefined> {
  try {
    return await startOverOnce(db, compiled, force, batchSize);
  } catch (error) {
    if (!(error instanceof ProjectionApplyError) || error.index === 0) throw error;
    await startOverOnce(db, compiled, force, error.index);
    throw error;
  }
}

function startOverOnce(
  db: Db,
  compiled: CompiledProjection,
  force: boolean,
  batchSize: number,
): Promise<Replayed | undefined> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<LogRow>(compiled.sql.read, [0, batchSize]);
    const batch = rows.slice(0, batchSize);
    const position = Number(batch.at(-1)?.position ?? 0);
    const head = rows.length <= batchSize;
    const { name } = compiled.projection;
    if (!(await restartCheckpoint(tx, name, position, head, force))) return undefined;
    await compiled.projection.reset(tx);
    await applyAll(tx, compiled, batch);
    return { events: batch.length, position };
  });
}
