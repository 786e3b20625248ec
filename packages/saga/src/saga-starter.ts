import { randomUUID } from "node:crypto";
import {
  Code,
  PlexusError,
  currentContext,
  newCorrelationId,
  validationError,
  type Clock,
  type Db,
  type LeaseHolder,
  type Logger,
  type Sql,
} from "@plexus/core";
import { checkSagaId } from "./saga-errors.ts";
import type { SagaExecutor } from "./saga-executor.ts";
import type { SagaRecord } from "./saga-record.ts";
import type { SagaRegistry } from "./saga-registry.ts";
import { isActiveStatus } from "./saga-status.ts";
import { sagaChannel, sagaStore } from "./saga-store.ts";

/** Options of `start`. */
export interface StartSagaOptions {
  /**
   * The saga's id. Default: a random UUID. Starting again with an id that exists does not make a
   * second saga: with the same type and input it returns the existing one (`created: false`),
   * otherwise it fails with AlreadyExists (`SAGA_ID_REUSED`).
   */
  id?: string;
  /**
   * The caller's open transaction on the same `db`: the saga row is written in it, so the
   * business row and the saga commit together (or neither does), and the saga runs only after
   * that commit. Without it the row is written at once and the saga runs right away.
   */
  tx?: Sql;
}

/** What `start` returns. */
export interface StartedSaga {
  readonly id: string;
  /** False when a saga with this id already existed (an idempotent repeat). */
  readonly created: boolean;
}

/** What `start` needs from its orchestrator. */
export interface SagaStarterOptions {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  /** This orchestrator's leases: a saga started outside a transaction is leased at once. */
  readonly lease: Pick<LeaseHolder, "owner" | "until">;
  readonly sagas: SagaRegistry;
  readonly executor: SagaExecutor;
}

/**
 * Persists a new saga (RUNNING at step 0), in the caller's transaction or on its own, and has it
 * executed; an idempotent repeat of an existing one only has it executed if it is still active.
 */
export async function startSaga(
  options: SagaStarterOptions,
  type: string,
  input: unknown,
  startOptions: StartSagaOptions,
): Promise<StartedSaga> {
  const { db, clock, logger, lease, sagas, executor } = options;
  if (!sagas.definition(type)) {
    throw new PlexusError(Code.InvalidArgument, `unknown saga type "${type}"`);
  }
  const id = checkSagaId(startOptions.id ?? randomUUID());
  const inputJson = JSON.stringify(input);
  if (inputJson === undefined) {
    throw validationError([{ field: "input", message: "must be representable as JSON" }]);
  }
  const starter = currentContext();
  const now = clock.now();
  const tx = startOptions.tx;
  // Held until the caller's transaction ends; the execution waits for it (see ADR).
  if (tx) await sagaStore.lock(tx, id);
  const sql = tx ?? db;
  // With no slot free here it waits unleased, and the commit wakes the other executors.
  const queued = executor.busy;
  const { record, created } = await sagaStore.insert(sql, {
    id,
    type,
    inputJson,
    correlationId: starter?.correlationId ?? newCorrelationId(),
    trace: starter?.trace,
    // Written on its own, the row is leased to this orchestrator at once: it runs right away.
    leaseOwner: tx || queued ? null : lease.owner,
    leaseUntil: tx || queued ? null : lease.until(now),
    now,
  });
  if (created && queued) sql.notify(sagaChannel);
  if (!created) await checkRepeat(sql, record, type, inputJson);
  // In a caller's transaction it is not started before that commits.
  if (created && !tx) logger.debug({ sagaId: id, sagaType: type }, "saga started");
  if (created || isActiveStatus(record.status)) {
    executor.executeStarted(id, {
      inCallersTx: tx !== undefined,
      createdVersion: created ? record.version : undefined,
    });
  }
  return { id, created };
}

/** A repeated `start` must name the same type and input (compared as jsonb). */
async function checkRepeat(
  sql: Sql,
  existing: SagaRecord,
  type: string,
  inputJson: string,
): Promise<void> {
  if (existing.type !== type || !(await sagaStore.sameInput(sql, existing.id, inputJson))) {
    throw new PlexusError(
      Code.AlreadyExists,
      `saga ${existing.id} already exists with another type or input`,
      { reason: "SAGA_ID_REUSED" },
    );
  }
}
