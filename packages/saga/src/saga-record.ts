import { parseTraceparent, type TraceParent } from "@plexus/core";
import { isSagaStatus, type ActiveSagaStatus, type SagaStatus } from "./saga-status.ts";
import type {
  AttemptOutcome,
  ErrorRecord,
  SagaFailure,
  SagaSummary,
  SagaView,
  StepAttemptView,
  StepPhase,
} from "./saga-view.ts";

/*
 * The mapping between the saga tables' rows, the record an execution holds in memory, and the
 * JSON views the admin API returns (the timeline of tries included).
 */

/** A saga instance row, as the orchestrator holds it in memory. */
export interface SagaRecord {
  readonly id: string;
  readonly type: string;
  status: SagaStatus;
  readonly input: unknown;
  outputs: Record<string, unknown>;
  stepIndex: number;
  resumeStatus: ActiveSagaStatus | null;
  failure: SagaFailure | null;
  failureReason: string | null;
  attention: SagaFailure | null;
  readonly correlationId: string;
  /** The span that started the saga; its steps' spans are its children. */
  readonly trace: TraceParent | undefined;
  version: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
  readonly createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface InstanceRow {
  id: string;
  type: string;
  status: string;
  input: unknown;
  outputs: Record<string, unknown> | null;
  step_index: number;
  resume_status: string | null;
  failure: SagaFailure | null;
  failure_reason: string | null;
  attention: SagaFailure | null;
  correlation_id: string;
  traceparent: string | null;
  version: number;
  lease_owner: string | null;
  lease_until: number | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export interface StepRow {
  id: number;
  step: string;
  step_index: number;
  phase: StepPhase;
  attempt: number;
  idempotency_key: string;
  started_at: Date;
  finished_at: Date | null;
  outcome: AttemptOutcome | null;
  error: ErrorRecord | null;
}

/** The columns every read of an instance selects, in `InstanceRow`'s shape. */
export const instanceColumns =
  "id, type, status, input, outputs, step_index, resume_status, failure, failure_reason, " +
  "attention, correlation_id, traceparent, version, lease_owner, lease_until, created_at, " +
  "updated_at, finished_at";

export function toRecord(row: InstanceRow): SagaRecord {
  if (!isSagaStatus(row.status)) throw new Error(`saga ${row.id}: unknown status ${row.status}`);
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    input: row.input,
    outputs: row.outputs ?? {},
    stepIndex: row.step_index,
    resumeStatus:
      row.resume_status === "RUNNING" || row.resume_status === "COMPENSATING"
        ? row.resume_status
        : null,
    failure: row.failure,
    failureReason: row.failure_reason,
    attention: row.attention,
    correlationId: row.correlation_id,
    trace: parseTraceparent(row.traceparent ?? undefined),
    version: row.version,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

const iso = (date: Date): string => date.toISOString();

export function toSummary(record: SagaRecord): SagaSummary {
  return {
    id: record.id,
    type: record.type,
    status: record.status,
    stepIndex: record.stepIndex,
    failureReason: record.failureReason,
    createdAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
    finishedAt: record.finishedAt ? iso(record.finishedAt) : null,
  };
}

export function toAttemptView(row: StepRow): StepAttemptView {
  return {
    step: row.step,
    stepIndex: row.step_index,
    phase: row.phase,
    attempt: row.attempt,
    idempotencyKey: row.idempotency_key,
    startedAt: iso(row.started_at),
    finishedAt: row.finished_at ? iso(row.finished_at) : null,
    outcome: row.outcome,
    error: row.error,
  };
}

export function toView(record: SagaRecord, attempts: readonly StepAttemptView[]): SagaView {
  return {
    ...toSummary(record),
    input: record.input,
    outputs: { ...record.outputs },
    failure: record.failure,
    attention: record.attention,
    resumeStatus: record.resumeStatus,
    version: record.version,
    correlationId: record.correlationId,
    steps: attempts,
  };
}
