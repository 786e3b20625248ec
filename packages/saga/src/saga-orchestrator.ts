import { AsyncLocalStorage } from "node:async_hooks";
import {
  Code,
  PlexusError,
  Semaphore,
  createLogger,
  systemClock,
  type Db,
  type Logger,
  type Clock,
} from "@plexus/core";
import type { ExecutionEnv, SagaHooks } from "./execution-env.ts";
import {
  defaultActionRetry,
  defaultCompensationRetry,
  resolveRetryPolicy,
  type RetryPolicyOptions,
} from "./retry-policy.ts";
import { SagaOperator, type ListSagasQuery, type SagaPage } from "./saga-admin.ts";
import type { SagaDefinition } from "./saga-definition.ts";
import type { SagaStepInterceptor } from "./saga-step-call.ts";
import { SagaExecutor } from "./saga-executor.ts";
import { SagaLeases } from "./saga-leases.ts";
import { SagaPoller } from "./saga-poller.ts";
import { SagaRegistry } from "./saga-registry.ts";
import { startSaga, type StartSagaOptions, type StartedSaga } from "./saga-starter.ts";
import type { SagaView } from "./saga-view.ts";
import { SettleWaiters } from "./settle-waiters.ts";

export interface SagaOrchestratorOptions extends SagaHooks {
  /**
   * The orchestrating service's own database, with the tables of `sagaMigrations` applied.
   * Sagas live next to the business rows they drive, so both can commit together.
   */
  db: Db;
  /** The sagas this orchestrator runs (and resumes), by `name`. */
  definitions: readonly SagaDefinition[];
  /** Time for timeouts, backoff, leases and timestamps. Default: the system clock. */
  clock?: Clock;
  /** Default: a silent logger (the host passes the service's). */
  logger?: Logger;
  /** The orchestrating service's name, set as `caller` on the context of every step's calls. */
  serviceName?: string;
  /**
   * How many sagas execute at once in this orchestrator; the rest wait their turn unclaimed (so
   * another process may take them). Default: 16 — steps are I/O bound, and the embedded PGlite
   * serialises every statement anyway.
   */
  maxConcurrent?: number;
  /** Bound of one try of a step that sets no `timeoutMs`. Default: 10 000 ms. */
  stepTimeoutMs?: number;
  /** Retry of actions, under each step's `retry`. Default: 3 tries, 100 ms..10 s, retryable codes. */
  actionRetry?: RetryPolicyOptions;
  /** Retry of compensations, under each step's own. Default: 5 tries, 100 ms..10 s, any error. */
  compensationRetry?: RetryPolicyOptions;
  /**
   * Retry of the transaction that writes a final state and runs its hooks. Default: like
   * `compensationRetry`. When it keeps failing, the saga is parked as NEEDS_ATTENTION.
   */
  finishRetry?: RetryPolicyOptions;
  /**
   * How long a claim on a saga lasts without renewal. The holder renews it every third of this
   * while it executes; another process takes a saga over only once its lease ran out. Default:
   * 30 000 ms — long enough to ride out a GC pause or a slow statement, short enough that a
   * crashed process's sagas resume within a minute. Holders' clocks must agree to well within it.
   *
   * On an exclusive database (`db.exclusive`: the embedded PGlite) the wait is skipped: the
   * data-directory lock keeps every other process out, so a lease held by an owner that is not an
   * open orchestrator of this process can only be a dead process's (one SIGKILLed before this
   * restart), and its sagas are claimed at once, still one claim per saga, re-running an
   * interrupted try with the same idempotency key. On Postgres, where another live process may
   * hold it, a lease is only taken over once it ran out.
   */
  leaseMs?: number;
  /**
   * How often, once `resumeAll()` ran, to look for active sagas nobody holds (a dead process's,
   * or ones whose wake-up was lost): the safety net of the wake-ups that commits leaving a saga to
   * another executor send (ADR 17). Default: 5 000 ms; 0 disables polling (not the wake-ups).
   */
  pollIntervalMs?: number;
  /**
   * How long `close()` lets in-flight tries finish before abandoning them (their sagas resume
   * later with the same idempotency keys). Default: 10 000 ms, under a typical 30 s termination
   * grace period.
   */
  closeTimeoutMs?: number;
  /** Source of backoff jitter in [0, 1). Default: Math.random. */
  random?: () => number;
  /** This orchestrator's lease owner id. Default: `<hostname>:<pid>:<random>`, unique per instance. */
  owner?: string;
  /**
   * Run around each try of a step, the first listed outermost (pass the host's
   * `ServiceEnv.sagaStepInterceptors`: its step spans). Whether or not any are set, each try runs
   * in a context whose `trace` is a child span of the one that started the saga, so the saga's
   * logs and calls share its starter's trace. Default: none.
   */
  interceptors?: readonly SagaStepInterceptor[];
}

/** Runs sagas: persisted, resumable, compensated in reverse, never silently dropped. */
export interface SagaOrchestrator extends AsyncDisposable {
  /**
   * Persists a new saga (RUNNING at step 0) and runs it in the background; resolves once the row
   * is written (or, with `tx`, once it is written in that transaction).
   */
  start<I>(type: string, input: I, options?: StartSagaOptions): Promise<StartedSaga>;
  /**
   * Claims and runs every active saga nobody alive holds (host start-up: RUNNING continues with its
   * persisted step, re-running an interrupted try with the same idempotency key; COMPENSATING
   * continues compensating), then scans again on every wake-up (a saga released or queued by any
   * process on the database) and every `pollIntervalMs`. Resolves with how many were scheduled
   * (up to 1 000 per scan; the rest come with the next scans).
   */
  resumeAll(): Promise<number>;
  /**
   * Operator action: continues a NEEDS_ATTENTION saga where it was parked, with fresh retry
   * budgets. Fails with NotFound, or FailedPrecondition when the saga is not parked.
   */
  retry(sagaId: string): Promise<void>;
  /** The saga with its full step timeline, or undefined. */
  get(sagaId: string): Promise<SagaView | undefined>;
  /** Sagas newest first, filtered by status and type, keyset-paginated. */
  list(query?: ListSagasQuery): Promise<SagaPage>;
  /**
   * Resolves when the saga is COMPLETED, COMPENSATED or NEEDS_ATTENTION (at once if it already
   * is). Only this orchestrator's own progress is observed: a saga another process executes
   * resolves on the next read after it settled here. Rejects on NotFound, on `signal`, and when
   * the orchestrator closes.
   */
  settled(sagaId: string, options?: { signal?: AbortSignal }): Promise<SagaView>;
  /**
   * Graceful stop: no new sagas or tries start, in-flight tries get `closeTimeoutMs` to finish
   * (their outcome is persisted), the rest are abandoned for a later resume, and every lease
   * this orchestrator holds is released. Idempotent.
   */
  close(): Promise<void>;
  /** Forced stop: abandons in-flight tries at once, then closes. */
  destroy(): Promise<void>;
}

/**
 * Creates a saga orchestrator on a service's database.
 *
 * @example
 * const sagas = createSagaOrchestrator({ db, definitions: [placeOrder], clock, logger, serviceName: "orders" });
 * await sagas.resumeAll();
 * await db.transaction(async (tx) => {
 *   await tx.query("INSERT INTO orders ...", [...]);
 *   await sagas.start("place-order", { orderId }, { id: orderId, tx });
 * });
 */
export function createSagaOrchestrator(options: SagaOrchestratorOptions): SagaOrchestrator {
  const db = options.db;
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? silentLogger()).child({ component: "saga" });
  const leaseMs = positive("leaseMs", options.leaseMs ?? 30_000);
  const pollIntervalMs = nonNegative("pollIntervalMs", options.pollIntervalMs ?? 5_000);
  const closeTimeoutMs = nonNegative("closeTimeoutMs", options.closeTimeoutMs ?? 10_000);
  const stepTimeoutMs = positive("stepTimeoutMs", options.stepTimeoutMs ?? 10_000);
  const actionRetry = resolveRetryPolicy(defaultActionRetry, options.actionRetry);
  const compensationRetry = resolveRetryPolicy(defaultCompensationRetry, options.compensationRetry);
  const finishRetry = resolveRetryPolicy(compensationRetry, options.finishRetry);
  const semaphore = new Semaphore(options.maxConcurrent ?? 16);
  const sagas = new SagaRegistry(options.definitions, {
    timeoutMs: stepTimeoutMs,
    actionRetry,
    compensationRetry,
  });

  // Sagas execute in the async context of this call, never in a caller's (see `InRoot`).
  const root = AsyncLocalStorage.snapshot();
  const stopping = new AbortController();
  const abandon = new AbortController();
  let closing: Promise<void> | undefined;

  const leases = new SagaLeases({
    db,
    clock,
    logger,
    owner: options.owner,
    leaseMs,
    root,
    abandon: abandon.signal,
  });
  const env: ExecutionEnv = {
    db,
    clock,
    logger,
    lease: leases,
    random: options.random ?? Math.random,
    serviceName: options.serviceName,
    interceptors: options.interceptors ?? [],
    finishRetry,
    hooks: {
      onCompleted: options.onCompleted,
      onCompensated: options.onCompensated,
      onNeedsAttention: options.onNeedsAttention,
    },
    sagas,
    stopping: stopping.signal,
    abandon: abandon.signal,
    settled: (id) => waiters.notify(id),
  };
  const executor = new SagaExecutor({ env, leases, semaphore, root });
  const poller = new SagaPoller({
    db,
    clock,
    logger,
    intervalMs: pollIntervalMs,
    root,
    stopping: stopping.signal,
    leases,
    executor,
  });
  const starter = { db, clock, logger, lease: leases, sagas, executor };
  const admin = new SagaOperator({ db, clock, logger, executor });
  const waiters = new SettleWaiters((id) => admin.get(id), root);

  function assertOpen(): void {
    if (stopping.signal.aborted) {
      throw new PlexusError(Code.Unavailable, "the saga orchestrator is closing");
    }
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      stopping.abort();
      poller.stop();
      leases.stopRenewing();
      await executor.drain(closeTimeoutMs);
      abandon.abort();
      await leases.releaseAll();
      waiters.rejectAll(closedError());
    })();
    return closing;
  }

  return {
    async start(type, input, startOptions = {}) {
      assertOpen();
      return startSaga(starter, type, input, startOptions);
    },
    async resumeAll() {
      assertOpen();
      await poller.start();
      return poller.scan();
    },
    async retry(sagaId) {
      assertOpen();
      return admin.retry(sagaId);
    },
    get: (sagaId) => admin.get(sagaId),
    list: (query = {}) => admin.list(query),
    settled(sagaId, settleOptions = {}) {
      if (closing) return Promise.reject(closedError());
      return waiters.wait(sagaId, settleOptions.signal);
    },
    close,
    destroy() {
      abandon.abort();
      return close();
    },
    [Symbol.asyncDispose]: close,
  };
}

function closedError(): PlexusError {
  return new PlexusError(Code.Unavailable, "the saga orchestrator is closed");
}

/** A logger that writes nothing (and opens no stream). */
function silentLogger(): Logger {
  return createLogger({ name: "saga", level: "silent", destination: { write: () => {} } });
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be > 0, got ${value}`);
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be >= 0, got ${value}`);
  }
  return value;
}
