export {
  cappedAttempts,
  constantBackoff,
  decorrelatedJitterBackoff,
  exponentialBackoff,
  grpcMaxAttempts,
  type Backoff,
  type DecorrelatedJitterOptions,
  type ExponentialBackoffOptions,
} from "./backoff.ts";
export {
  createBulkhead,
  type Bulkhead,
  type BulkheadOptions,
  type BulkheadRejectEvent,
} from "./bulkhead.ts";
export {
  createCircuitBreaker,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitBreakerState,
  type CircuitMetrics,
} from "./circuit-breaker.ts";
export type { CircuitRejectEvent } from "./breaker-core.ts";
export type { SlidingWindowOptions } from "./call-rates.ts";
export type { CircuitState, StateChangeEvent } from "./circuit-state-machine.ts";
export { isCalleeFailure } from "./is-callee-failure.ts";
export { growingOpenWait } from "./open-wait.ts";
export {
  createClientResilience,
  createResilienceInterceptors,
  type CallDescriptor,
  type CalleeSnapshot,
  type ClientResilience,
} from "./client-resilience.ts";
export {
  defaultCalleePolicies,
  type CallTarget,
  type CalleeOptions,
  type CalleePolicyOptions,
  type ClientResilienceOptions,
  type MethodPolicyOptions,
  type RejectingPolicy,
  type ResilienceRejectEvent,
} from "./callee-policies.ts";
export {
  composeWithFallbacks,
  type ComposeWithFallbacksOptions,
  type Composition,
  type CompositionParts,
  type DegradedPartEvent,
} from "./compose-with-fallbacks.ts";
export { rejectionKindOf, retryAfterKey, retryAfterMsOf, type RejectionKind } from "./errors.ts";
export {
  stale,
  withFallback,
  type FallbackOptions,
  type FallbackResult,
  type FallbackValue,
} from "./fallback.ts";
export {
  createHedgingPolicy,
  type HedgeEvent,
  type HedgeRefusedEvent,
  type HedgingOptions,
} from "./hedging.ts";
export { createPipeline, type PipelineOptions } from "./pipeline.ts";
export {
  execute,
  neverAborted,
  type Attempt,
  type AttemptHandler,
  type ExecuteOptions,
  type Operation,
  type Policy,
  type PolicyContext,
} from "./policy.ts";
export {
  createRateLimiter,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimiterRejectEvent,
} from "./rate-limiter.ts";
export {
  createRetryPolicy,
  isRetryableError,
  type GiveUpEvent,
  type GiveUpReason,
  type RetryEvent,
  type RetryOptions,
} from "./retry.ts";
export {
  createRetrySchedule,
  type RetryDecision,
  type RetrySchedule,
  type RetryScheduleOptions,
} from "./retry-schedule.ts";
export {
  createRetryBudget,
  type BudgetVerdict,
  type RetryBudget,
  type RetryBudgetOptions,
} from "./retry-budget.ts";
export { createTimeout, type TimeoutOptions } from "./timeout.ts";
