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
  db: Db,
  projection: Projection,
  after: number,
  batchSize: number,
): Promise<{ batch: readonly LoggedEvent[]; head: boolean }> {
  const events = await projection.log.read(db, after, batchSize + 1);
  return { batch: events.slice(0, batchSize), head: events.length <= batchSize };
}

async function applyBatch(
  tx: Sql,
  { projection, handles }: CompiledProjection,
  batch: readonly LoggedEvent[],
): Promise<void> {
  for (const { event } of batch) if (handles(event.type)) await projection.apply(tx, event);
}

/**
 * Applies the log from the checkpoint `from` up to its head, one transaction per batch that
 * moves the checkpoint (compare-and-set) and applies the batch. When the checkpoint moved under
 * it (a replica applied that batch first, or a rebuild reset it), it continues from wherever the
 * checkpoint now stands: every event is applied once, in log order, whoever applies it. It ends
 * on a batch that reached the log's head, or on an empty read with the checkpoint where it left
 * it (one more statement, only when a look finds nothing new).
 * `signal` stops it between batches.
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
    const { batch, head } = await readBatch(db, compiled.projection, position, batchSize);
    const last = batch.at(-1);
    const moved =
      last !== undefined &&
      (await db.transaction(async (tx) => {
        if (!(await moveCheckpoint(tx, name, position, last.position, head))) return false;
        await applyBatch(tx, compiled, batch);
        return true;
      }));
    if (!moved) {
      // Nothing new after `position`, or the checkpoint moved: it may have moved back (a rebuild
      // reset it, or one was interrupted), with events to replay that are not new.
      const current = await readCheckpoint(db, name);
      if (!current) throw new Error(`projection "${name}" lost its checkpoint`);
      if (!last && current.position === position) return { events, position };
      position = current.position;
      continue;
    }
    position = last.position;
    events += batch.length;
    if (head) return { events, position };
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
  const { batch, head } = await readBatch(db, compiled.projection, 0, batchSize);
  const position = batch.at(-1)?.position ?? 0;
  return db.transaction(async (tx) => {
    const { name } = compiled.projection;
    if (!(await restartCheckpoint(tx, name, position, head, force))) return undefined;
    await compiled.projection.reset(tx);
    await applyBatch(tx, compiled, batch);
    return { events: batch.length, position };
  });
}
