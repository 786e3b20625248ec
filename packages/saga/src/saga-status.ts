/**
 * The states of a saga instance. Two are terminal (`COMPLETED`, `COMPENSATED`); `NEEDS_ATTENTION`
 * is parked: only an operator's `retry` moves it on.
 */
export const SagaStatus = {
  Running: "RUNNING",
  Compensating: "COMPENSATING",
  Completed: "COMPLETED",
  Compensated: "COMPENSATED",
  NeedsAttention: "NEEDS_ATTENTION",
} as const;

export type SagaStatus = (typeof SagaStatus)[keyof typeof SagaStatus];

/** The statuses a saga is executed in (and resumed from). */
export type ActiveSagaStatus = typeof SagaStatus.Running | typeof SagaStatus.Compensating;

export const allSagaStatuses: readonly SagaStatus[] = Object.values(SagaStatus);

const transitions: Readonly<Record<SagaStatus, readonly SagaStatus[]>> = {
  RUNNING: ["RUNNING", "COMPENSATING", "COMPLETED", "NEEDS_ATTENTION"],
  COMPENSATING: ["COMPENSATING", "COMPENSATED", "NEEDS_ATTENTION"],
  // Parked: an operator's retry continues where it stopped.
  NEEDS_ATTENTION: ["RUNNING", "COMPENSATING"],
  COMPLETED: [],
  COMPENSATED: [],
};

/** Whether the state machine allows `from` → `to` (a step advancing stays in the same status). */
export function canTransition(from: SagaStatus, to: SagaStatus): boolean {
  return transitions[from].includes(to);
}

/** Terminal: nothing ever changes a saga in this state again. */
export function isTerminalStatus(status: SagaStatus): boolean {
  return status === SagaStatus.Completed || status === SagaStatus.Compensated;
}

/** Executed by an orchestrator (and picked up by `resumeAll`). */
export function isActiveStatus(status: SagaStatus): status is ActiveSagaStatus {
  return status === SagaStatus.Running || status === SagaStatus.Compensating;
}

export function isSagaStatus(value: unknown): value is SagaStatus {
  return typeof value === "string" && (allSagaStatuses as readonly string[]).includes(value);
}
