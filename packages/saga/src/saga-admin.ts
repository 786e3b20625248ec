import { Code, PlexusError, validationError, type Clock, type Db, type Logger } from "@plexus/core";
import { decodeCursor, encodeCursor } from "./list-cursor.ts";
import { checkSagaId, sagaNotFound } from "./saga-errors.ts";
import type { SagaExecutor } from "./saga-executor.ts";
import { toSummary } from "./saga-record.ts";
import { isSagaStatus } from "./saga-status.ts";
import { sagaChannel, sagaStore } from "./saga-store.ts";
import type { SagaSummary, SagaView } from "./saga-view.ts";

/** Filters of `list`. */
export interface ListSagasQuery {
  /** A `SagaStatus`; checked here (it comes from outside), anything else is a validation error. */
  status?: string;
  type?: string;
  /** Page size, 1..100 (larger is clamped). Default: 20. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** A page of `list`, newest first. */
export interface SagaPage {
  readonly items: readonly SagaSummary[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export interface SagaAdminOptions {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly executor: SagaExecutor;
}

/**
 * What an operator does with an orchestrator's sagas (the host's admin API): read them, and
 * send a parked one back to where it stopped. Ids and filters come from outside: a malformed one
 * is a validation error, never a storage error.
 */
export class SagaOperator {
  readonly #options: SagaAdminOptions;

  constructor(options: SagaAdminOptions) {
    this.#options = options;
  }

  /** Continues a NEEDS_ATTENTION saga where it was parked, with fresh retry budgets. */
  async retry(sagaId: string): Promise<void> {
    const { db, clock, logger, executor } = this.#options;
    checkSagaId(sagaId);
    if (!(await sagaStore.unpark(db, sagaId, clock.now()))) {
      const record = await sagaStore.find(db, sagaId);
      if (!record) throw sagaNotFound(sagaId);
      throw new PlexusError(
        Code.FailedPrecondition,
        `saga ${sagaId} is ${record.status}; only a NEEDS_ATTENTION saga can be retried`,
      );
    }
    logger.info({ sagaId }, "saga retried by an operator");
    // Unleased: with no slot free here, another executor may take it first.
    if (executor.busy) db.notify(sagaChannel);
    executor.execute(sagaId);
  }

  async get(sagaId: string): Promise<SagaView | undefined> {
    return sagaStore.view(this.#options.db, checkSagaId(sagaId));
  }

  async list(query: ListSagasQuery): Promise<SagaPage> {
    const limit = query.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1) {
      throw validationError([{ field: "limit", message: "must be an integer >= 1" }]);
    }
    if (query.status !== undefined && !isSagaStatus(query.status)) {
      throw validationError([{ field: "status", message: "not a saga status" }]);
    }
    const pageSize = Math.min(limit, 100);
    const rows = await sagaStore.list(this.#options.db, {
      status: query.status,
      type: query.type,
      limit: pageSize,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    });
    const page = rows.slice(0, pageSize);
    const last = page.at(-1);
    return {
      items: page.map(toSummary),
      nextCursor:
        rows.length > pageSize && last
          ? encodeCursor({ createdAt: last.createdAt, id: last.id })
          : null,
    };
  }
}
