import type { Db, LoggedEvent, Projection, Sql } from "@plexus/core";
import { compileTypeFilter, type EventTypeFilter } from "@plexus/messaging";
import { moveCheckpoint, readCheckpoint, restartCheckpoint } from "./checkpoint.ts";

/** A projection with its event type filter compiled (once: a bad pattern fails at start-up). */
export interface CompiledProjection {
  readonly projection: Projection;
  readonly handles: EventTypeFilter;
}

export function compileProjection(projection: Projection): CompiledProjection {
  return { projection, handles: compileTypeFilter(projection.types) };
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

/**
 * The next batch after `after`, and whether it reaches the log's head: one event more than the
 * batch is read, so the last batch is known to be the last without a further (empty) read.
 */
async function readBatch(
  sql: Sql,
  projection: Projection,
  after: number,
  batchSize: number,
): Promise<{ batch: readonly LoggedEvent[]; head: boolean }> {
  const events = await projection.log.read(sql, after, batchSize + 1);
  return { batch: events.slice(0, batchSize), head: events.length <= batchSize };
}

async function applyBatch(
  tx: Sql,
  { projection, handles }: CompiledProjection,
  batch: readonly LoggedEvent[],
): Promise<void> {
  for (const { event } of batch) if (handles(event.type)) await projection.apply(tx, event);
}

/** What one transaction of a catch-up did. */
type Step =
  | {
      readonly applied: true;
      readonly position: number;
      readonly events: number;
      readonly head: boolean;
    }
  | { readonly applied: false; readonly checkpoint: number; readonly empty: boolean };

/**
 * Applies the log from the checkpoint `from` up to its head, one transaction per batch that
 * reads it, moves the checkpoint (compare-and-set) and applies it. When the checkpoint moved
 * under it (a replica applied that batch first, or a rebuild reset it), it continues from
 * wherever the checkpoint now stands: every event is applied once, in log order, whoever applies
 * it. It ends on a batch that reached the log's head, or on finding nothing new with the
 * checkpoint where it left it (one more statement, only then). `signal` stops it between batches.
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
  for (;;) {
    signal?.throwIfAborted();
    const at = position;
    const step = await db.transaction(async (tx): Promise<Step> => {
      const { batch, head } = await readBatch(tx, compiled.projection, at, batchSize);
      const last = batch.at(-1);
      if (last && (await moveCheckpoint(tx, name, at, last.position, head))) {
        await applyBatch(tx, compiled, batch);
        return { applied: true, position: last.position, events: batch.length, head };
      }
      // Nothing new after `at`, or the checkpoint moved: it may have moved back (a rebuild reset
      // it, or one was interrupted), with events to replay that are not new.
      const current = await readCheckpoint(tx, name);
      if (!current) throw new Error(`projection "${name}" lost its checkpoint`);
      return { applied: false, checkpoint: current.position, empty: !last };
    });
    if (step.applied) {
      position = step.position;
      events += step.events;
      if (step.head) return { events, position };
    } else {
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
 * the projection first.
 */
export async function startOver(
  db: Db,
  compiled: CompiledProjection,
  force: boolean,
  batchSize: number,
): Promise<Replayed | undefined> {
  return db.transaction(async (tx) => {
    const { batch, head } = await readBatch(tx, compiled.projection, 0, batchSize);
    const position = batch.at(-1)?.position ?? 0;
    const { name } = compiled.projection;
    if (!(await restartCheckpoint(tx, name, position, head, force))) return undefined;
    await compiled.projection.reset(tx);
    await applyBatch(tx, compiled, batch);
    return { events: batch.length, position };
  });
}
