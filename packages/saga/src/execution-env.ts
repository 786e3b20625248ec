import type { Clock, Db, LeaseHolder, Logger } from "@plexus/core";
import type { RetryPolicy } from "./retry-policy.ts";
import type { SagaFinishedEvent } from "./saga-definition.ts";
import type { SagaRegistry } from "./saga-registry.ts";
import type { SagaStepInterceptor } from "./saga-step-call.ts";

/**
 * Runs a function in the async context the orchestrator was created in
 * (`AsyncLocalStorage.snapshot()`): its background work never runs in a caller's context.
 */
export type InRoot = <R>(fn: () => R) => R;

/** Orchestrator-wide finish hooks (they run after the definition's own, in the same transaction). */
export interface SagaHooks {
  /** Runs in the transaction that marks any saga COMPLETED. */
  onCompleted?: (event: SagaFinishedEvent) => Promise<void>;
  /** Runs in the transaction that marks any saga COMPENSATED. */
  onCompensated?: (event: SagaFinishedEvent) => Promise<void>;
  /** Runs in the transaction that parks any saga as NEEDS_ATTENTION: alert from here. */
  onNeedsAttention?: (event: SagaFinishedEvent) => Promise<void>;
}

/** What an execution needs from its orchestrator: the same for all its sagas. */
export interface ExecutionEnv {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The orchestrator's leases: a write extends the saga's lease to `until(now)`. */
  readonly lease: Pick<LeaseHolder, "until">;
  readonly random: () => number;
  readonly serviceName: string | undefined;
  /** Run around each try, first outermost; composed once per execution. */
  readonly interceptors: readonly SagaStepInterceptor[];
  readonly finishRetry: RetryPolicy;
  readonly hooks: SagaHooks;
  readonly sagas: SagaRegistry;
  /** Aborted by `close()`: start no new try, stop backoff sleeps. */
  readonly stopping: AbortSignal;
  /** Aborted when `close()` gives up on in-flight tries: no more writes at all. */
  readonly abandon: AbortSignal;
  /** Called after a saga reached a terminal or parked state. */
  settled(id: string): void;
}
