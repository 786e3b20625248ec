import type { Sql } from "@plexus/core";
import { sagaStepsTable as steps } from "./saga-migrations.ts";
import { toAttemptView, type StepRow } from "./saga-record.ts";
import type { AttemptOutcome, ErrorRecord, StepAttemptView, StepPhase } from "./saga-view.ts";

/**
 * Every statement on a saga's timeline: one row per try (`plexus_saga_steps`), logged as started
 * before its call and ended with its outcome. Like `sagaStore`, each takes the `Sql` to run on.
 */
export const sagaTimeline = {
  /** How many tries were logged per half-step (`${stepIndex}:${phase}`), in every execution. */
  async attemptCounts(sql: Sql, id: string): Promise<Map<string, number>> {
    const result = await sql.query<{ step_index: number; phase: StepPhase; n: number }>(
      `SELECT step_index, phase, count(*)::int AS n FROM ${steps}
       WHERE saga_id = $1 GROUP BY step_index, phase`,
      [id],
    );
    return new Map(result.rows.map((r) => [`${r.step_index}:${r.phase}`, r.n]));
  },

  /** Logs the start of a try; returns its row id. */
  async startAttempt(
    sql: Sql,
    attempt: {
      sagaId: string;
      step: string;
      stepIndex: number;
      phase: StepPhase;
      attempt: number;
      idempotencyKey: string;
      now: number;
    },
  ): Promise<number> {
    const result = await sql.query<{ id: number }>(
      `INSERT INTO ${steps} (saga_id, step, step_index, phase, attempt, idempotency_key, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [
        attempt.sagaId,
        attempt.step,
        attempt.stepIndex,
        attempt.phase,
        attempt.attempt,
        attempt.idempotencyKey,
        new Date(attempt.now),
      ],
    );
    return result.rows[0]!.id;
  },

  /** Logs how a try ended. */
  async finishAttempt(
    sql: Sql,
    attemptId: number,
    outcome: AttemptOutcome,
    error: ErrorRecord | null,
    now: number,
  ): Promise<void> {
    await sql.query(
      `UPDATE ${steps} SET outcome = $2, error = $3::jsonb, finished_at = $4
       WHERE id = $1 AND outcome IS NULL`,
      [attemptId, outcome, error === null ? null : JSON.stringify(error), new Date(now)],
    );
  },

  /** Marks tries left open by an execution that died (or was abandoned) as INTERRUPTED. */
  async interruptOpenAttempts(sql: Sql, id: string, now: number): Promise<number> {
    const result = await sql.query(
      `UPDATE ${steps} SET outcome = 'INTERRUPTED', finished_at = $2
       WHERE saga_id = $1 AND outcome IS NULL`,
      [id, new Date(now)],
    );
    return result.rowCount;
  },

  async attempts(sql: Sql, id: string): Promise<StepAttemptView[]> {
    const result = await sql.query<StepRow>(
      `SELECT id, step, step_index, phase, attempt, idempotency_key, started_at, finished_at,
         outcome, error
       FROM ${steps} WHERE saga_id = $1 ORDER BY id`,
      [id],
    );
    return result.rows.map(toAttemptView);
  },
};
