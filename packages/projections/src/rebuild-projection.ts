import type { Db, Projection } from "@plexus/core";
import { readCheckpoint } from "./checkpoint.ts";
import { ensureProjectionTables } from "./projection-tables.ts";
import { catchUp, checkBatchSize, compileProjection, startOver } from "./replay.ts";

export interface RebuildProjectionOptions {
  /** Events applied per transaction. Default 500: short transactions, few round trips. */
  readonly batchSize?: number;
  /**
   * Whether an unfinished rebuild (interrupted before any runner reached the log's head) goes on
   * from its checkpoint instead of starting over. Default true: nothing is replayed twice.
   */
  readonly resume?: boolean;
  /** Stops between batches; the checkpoint keeps where it stood (the runner goes on from it). */
  readonly signal?: AbortSignal;
}

/** What a rebuild did. */
export interface RebuildReport {
  /** Log events this call moved past (applied, or skipped as not the projection's types). */
  readonly events: number;
  /** The checkpoint it left: the log's head when it finished. */
  readonly position: number;
  /** True when it went on with an unfinished rebuild. */
  readonly resumed: boolean;
}

/**
 * Rebuilds a projection from its event log: resets it and replays the log in position order, a
 * batch per transaction with the checkpoint. The reset shares the first batch's transaction, so
 * readers never see an empty read model (while the log is not), but they do see a partial one
 * until the replay ends (ADR 19). Safe while the service runs (its runners, in any process, go on
 * from the reset checkpoint and share the replay, each batch applied once) and offline.
 *
 * @example
 * // a CLI command, with the service's database
 * const db = await storage.forService(ordersService.name, ordersService.migrations);
 * const report = await rebuildProjection(db, orderHistoryProjection);
 */
export async function rebuildProjection(
  db: Db,
  projection: Projection,
  options: RebuildProjectionOptions = {},
): Promise<RebuildReport> {
  const batchSize = checkBatchSize(options.batchSize ?? 500);
  const compiled = compileProjection(projection);
  await ensureProjectionTables(db);
  const current = await readCheckpoint(db, projection.name);
  const resumed = options.resume !== false && current?.rebuilding === true;
  options.signal?.throwIfAborted();
  const first = resumed ? undefined : await startOver(db, compiled, true, batchSize);
  const rest = await catchUp(
    db,
    compiled,
    first?.position ?? current?.position ?? 0,
    batchSize,
    options.signal,
  );
  return { events: (first?.events ?? 0) + rest.events, position: rest.position, resumed };
}
