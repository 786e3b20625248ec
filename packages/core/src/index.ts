export {
  Code,
  allCodes,
  codeFromConnectName,
  codeFromGrpcStatus,
  codeToConnectName,
  isRetryableCode,
} from "./code.ts";
export {
  PlexusError,
  validationError,
  type FieldViolation,
  type PlexusErrorOptions,
} from "./plexus-error.ts";
export {
  codeFromHttpStatus,
  httpStatusOf,
  publicCodeOf,
  toErrorBody,
  type ErrorBody,
} from "./http-mapping.ts";
export {
  parsePushbackMs,
  parseRetryAfter,
  retryAfterKey,
  retryAfterMsOf,
} from "./retry-pushback.ts";
export { systemClock, sleep, type Clock, type TimerHandle } from "./clock.ts";
export { Semaphore } from "./semaphore.ts";
export {
  abortReason,
  CallScope,
  childScope,
  neverAborted,
  type ScopeOptions,
} from "./call-scope.ts";
export { RaceEntry, slotOfSignal, TimerSlot, TimerSlots, timerSlotsFor } from "./timer-slots.ts";
export {
  assertDeadline,
  currentContext,
  earliestDeadline,
  remainingMs,
  runInContext,
  type CallContext,
  type Principal,
} from "./context.ts";
export {
  childTraceparent,
  formatTraceparent,
  isWellFormedCorrelationId,
  newCorrelationId,
  newRequestId,
  parseTraceparent,
  type TraceParent,
} from "./ids.ts";
export { createLogger, type Logger, type LoggerOptions } from "./logger.ts";
export { chainInterceptors, type CallHandler, type Interceptor } from "./interceptor.ts";
export {
  headerIdempotencyKey,
  headerPreviousAttempts,
  type CallOptions,
  type Client,
  type HandlerContext,
  type RpcInterceptor,
  type ServiceHandlers,
  type Transport,
  type UnaryFn,
  type UnaryRequest,
  type UnaryResponse,
} from "./rpc.ts";
export {
  defineService,
  type ClientFactory,
  type ServiceDefinition,
  type ServiceEnv,
  type ServiceInstance,
} from "./service.ts";
export type { Db, Migration, NotifyOptions, Sql, SqlResult } from "./store.ts";
export { toolkitTables } from "./toolkit-tables.ts";
export { CoalescedRun } from "./coalesced-run.ts";
export {
  LeaseHolder,
  takeableLease,
  type LeaseHolderOptions,
  type LeaseTerms,
  type LeasedRows,
  type TakeableLease,
} from "./lease-holder.ts";
export type {
  HttpClientFactory,
  HttpUpstream,
  HttpUpstreamRequest,
  HttpUpstreamResponse,
  HttpUpstreamTarget,
} from "./http-upstream.ts";
export {
  createLifecycle,
  type Lifecycle,
  type LifecycleOptions,
  type StopStep,
  type StopStepOptions,
} from "./lifecycle.ts";
export {
  SHUTDOWN_CHECK,
  createHealthRegistry,
  type HealthCheck,
  type HealthCheckOptions,
  type HealthRegistry,
  type HealthRegistryOptions,
  type HealthReport,
  type HealthStatus,
} from "./health-registry.ts";
export { CENSORED, censorSecrets, isSecretKey } from "./censor-secrets.ts";
export type { CloudEvent } from "./cloud-event.ts";
export type {
  BackoffJitter,
  BackoffOptions,
  Broker,
  BrokerSubscription,
  DeadLetterInput,
  Delivery,
  PublishOptions,
  SubscriptionHandle,
} from "./broker.ts";
export type { EventConsumer, TransactionalOutbox } from "./service-events.ts";
export type { Projection } from "./projection.ts";
export {
  integerSetting,
  invalidSetting,
  portSetting,
  stringSetting,
  type Settings,
} from "./settings.ts";
export { OperatorError } from "./operator-error.ts";
export { rejectedWith } from "./rejected-with.ts";
export { StartupError } from "./startup-error.ts";
