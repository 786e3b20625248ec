export {
  defineSaga,
  idempotencyKeyOf,
  type SagaDefinition,
  type SagaFinishedEvent,
  type SagaStep,
  type StepContext,
} from "./saga-definition.ts";
export {
  createSagaOrchestrator,
  type SagaOrchestrator,
  type SagaOrchestratorOptions,
} from "./saga-orchestrator.ts";
export type { ListSagasQuery, SagaPage } from "./saga-admin.ts";
export type { StartSagaOptions, StartedSaga } from "./saga-starter.ts";
export type { SagaHooks } from "./execution-env.ts";
export type {
  SagaStepCall,
  SagaStepInterceptor,
  SagaStepOutcome,
  SagaStepResult,
} from "./saga-step-call.ts";
export type { SagaAdmin } from "./service-sagas.ts";
export {
  SagaStatus,
  allSagaStatuses,
  canTransition,
  isActiveStatus,
  isTerminalStatus,
  type ActiveSagaStatus,
} from "./saga-status.ts";
export {
  defaultActionRetry,
  defaultCompensationRetry,
  type RetryPolicy,
  type RetryPolicyOptions,
} from "./retry-policy.ts";
export {
  sagaInstancesTable,
  sagaMigrations,
  sagaStepsTable,
  sagaTraceMigration,
} from "./saga-migrations.ts";
export type {
  AttemptOutcome,
  ErrorRecord,
  FailureKind,
  SagaFailure,
  SagaSummary,
  SagaView,
  StepAttemptView,
  StepPhase,
} from "./saga-view.ts";
