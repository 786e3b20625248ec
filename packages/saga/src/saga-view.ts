import type { SagaStatus } from "./saga-status.ts";

/** Which half of a step runs. */
export type StepPhase = "action" | "compensation";

/**
 * How a step failed:
 * - `business`: a definite refusal with no effect (the step's `isBusinessFailure`);
 * - `exhausted`: retryable failures (timeouts included) outlasted the retry policy;
 * - `fatal`: a failure the policy does not retry (a bug, a rejected request);
 * - `interrupted`: the saga could not go on for a reason outside the step (unknown saga type or
 *   step after a deploy, a finish hook that kept failing).
 */
export type FailureKind = "business" | "exhausted" | "fatal" | "interrupted";

/** One failure, as persisted (JSON). */
export interface ErrorRecord {
  /** The Connect name of the code, e.g. `unavailable`, `deadline_exceeded`. */
  readonly code: string;
  /** The public reason (`OUT_OF_STOCK`) or the code's public name (`SERVICE_UNAVAILABLE`). */
  readonly reason: string;
  /** The error's message, and its cause's when the error wraps one (operators need the why). */
  readonly message: string;
}

/** Why a saga compensated or was parked. */
export interface SagaFailure extends ErrorRecord {
  readonly step: string;
  readonly stepIndex: number;
  readonly phase: StepPhase | "finish";
  readonly kind: FailureKind;
}

/** How one try ended; `null` while it runs (or when its process died before it ended). */
export type AttemptOutcome = "SUCCEEDED" | "RETRYING" | "FAILED" | "INTERRUPTED";

/** One try of one half of one step: the saga's timeline is the list of these. */
export interface StepAttemptView {
  readonly step: string;
  readonly stepIndex: number;
  readonly phase: StepPhase;
  readonly attempt: number;
  readonly idempotencyKey: string;
  /** ISO-8601. */
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly outcome: AttemptOutcome | null;
  readonly error: ErrorRecord | null;
}

/** A saga as the admin API lists it (JSON-serialisable). */
export interface SagaSummary {
  readonly id: string;
  readonly type: string;
  readonly status: SagaStatus;
  /**
   * RUNNING: the index of the next step to run (= steps count when only finishing is left).
   * COMPENSATING: the index of the next step to compensate (-1 when only finishing is left).
   * NEEDS_ATTENTION: where `retry` continues. Terminal: where it ended.
   */
  readonly stepIndex: number;
  /** Public reason of the failure (`OUT_OF_STOCK`), when the saga compensated or is parked. */
  readonly failureReason: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
}

/** A saga with everything known about it (JSON-serialisable). */
export interface SagaView extends SagaSummary {
  readonly input: unknown;
  readonly outputs: Readonly<Record<string, unknown>>;
  /** The failure that made the saga compensate (or park before compensating). */
  readonly failure: SagaFailure | null;
  /** Why the saga is (or last was) parked; cleared by nothing, overwritten by the next park. */
  readonly attention: SagaFailure | null;
  /** Where an operator's `retry` continues (NEEDS_ATTENTION only). */
  readonly resumeStatus: SagaStatus | null;
  /** Optimistic-concurrency version, bumped by every state write. */
  readonly version: number;
  /** Correlation id the saga's calls carry (taken from the context that started it). */
  readonly correlationId: string;
  /** Every try, oldest first. */
  readonly steps: readonly StepAttemptView[];
}
