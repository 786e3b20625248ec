import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import {
  Code,
  PlexusError,
  Semaphore,
  createLogger,
  currentContext,
  liveLeaseOwners,
  newCorrelationId,
  newRequestId,
  runInContext,
  systemClock,
  validationError,
  type Clock,
  type Db,
  type Logger,
  type SagaStepTracer,
  type Sql,
  type TimerHandle,
} from "@plexus/core";
import { decodeCursor, encodeCursor } from "./list-cursor.ts";
import {
  defaultActionRetry,
  defaultCompensationRetry,
  resolveRetryPolicy,
  type RetryPolicyOptions,
} from "./retry-policy.ts";
import { defineSaga, type SagaDefinition } from "./saga-definition.ts";
import {
  SagaExecution,
  type ExecutionEnv,
  type SagaHooks,
  type StepPlan,
} from "./saga-execution.ts";
import { isActiveStatus, isSagaStatus, type SagaStatus } from "./saga-status.ts";
import { sagaStore, toSummary, type Alive, type SagaRecord } from "./saga-store.ts";
import type { SagaSummary, SagaView } from "./saga-view.ts";
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
   * or ones started in a transaction that committed after the start-up scan). Default: 5 000 ms;
   * 0 disables polling.
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
   * Records a span around each try of a step (pass the host's `ServiceEnv.traceSagaStep`).
   * Whether or not it is set, each try runs in a context whose `trace` is a child span of the
   * one that started the saga, so the saga's logs and calls share its starter's trace. Default:
   * none.
   */
  traceStep?: SagaStepTracer;
}

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

/** Filters of `list`. */
export interface ListSagasQuery {
  status?: SagaStatus;
  type?: string;
  /** Page size, 1..100 (larger is clamped). Default: 20. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** A page of `list`, newest first. */
export interface SagaPage {
  readonly items: readonly SagaSummary[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
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
   * continues compensating), then keeps polling every `pollIntervalMs`. Resolves with how many
   * were scheduled (up to 1 000 per scan; the rest come with the next polls).
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

/** Advisory-lock class of saga ids (`SAGA` in ASCII), paired with `hashtext(id)`. */
const lockClass = 0x53414741;
const scanBatch = 1_000;
const maxIdLength = 200;

/**
 * A saga id: 1 to 200 characters, no NUL (Postgres text cannot hold it). An operator's malformed
 * id (the admin API) is a validation error, never a storage error.
 */
function checkSagaId(id: unknown): string {
  if (typeof id !== "string" || id.length === 0 || id.length > maxIdLength || id.includes("\0")) {
    throw validationError([
      { field: "id", message: `1 to ${maxIdLength} characters, without NUL` },
    ]);
  }
  return id;
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
  const pollIntervalMs = options.pollIntervalMs ?? 5_000;
  if (!Number.isFinite(pollIntervalMs) || pollIntervalMs < 0) {
    throw new RangeError(`pollIntervalMs must be >= 0, got ${pollIntervalMs}`);
  }
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  if (!Number.isFinite(closeTimeoutMs) || closeTimeoutMs < 0) {
    throw new RangeError(`closeTimeoutMs must be >= 0, got ${closeTimeoutMs}`);
  }
  const stepTimeoutMs = positive("stepTimeoutMs", options.stepTimeoutMs ?? 10_000);
  const actionRetry = resolveRetryPolicy(defaultActionRetry, options.actionRetry);
  const compensationRetry = resolveRetryPolicy(defaultCompensationRetry, options.compensationRetry);
  const finishRetry = resolveRetryPolicy(compensationRetry, options.finishRetry);
  const semaphore = new Semaphore(options.maxConcurrent ?? 16);
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  const definitions = new Map<string, SagaDefinition>();
  const plans = new Map<string, StepPlan[]>();
  for (const definition of options.definitions) {
    defineSaga(definition);
    if (definitions.has(definition.name)) {
      throw new TypeError(`saga "${definition.name}" is defined twice`);
    }
    definitions.set(definition.name, definition);
    plans.set(
      definition.name,
      definition.steps.map((step) => {
        const timeoutMs = step.timeoutMs ?? stepTimeoutMs;
        return {
          action: resolveRetryPolicy(actionRetry, step.retry),
          compensation: resolveRetryPolicy(compensationRetry, step.compensationRetry),
          timeoutMs,
          compensationTimeoutMs: step.compensationTimeoutMs ?? timeoutMs,
        };
      }),
    );
  }

  // Executions run in the async context of the orchestrator's creation, never in a caller's:
  // not inside its CallContext (deadline, signal) nor inside its open transaction.
  const root = AsyncLocalStorage.snapshot();
  const stopping = new AbortController();
  const abandon = new AbortController();
  /** Executions scheduled or running here, by saga id: one per saga at a time. */
  const running = new Map<string, Promise<void>>();
  /** Sagas to execute again once their current execution ends (state changed meanwhile). */
  const again = new Set<string>();
  /** Sagas `start` just wrote, until their execution claims them (see `executeStarted`). */
  const startedHere = new Map<
    string,
    { readonly inCallersTx: boolean; readonly createdVersion: number | undefined }
  >();
  /** Sagas whose lease this orchestrator holds. */
  const held = new Set<string>();
  const waiters = new SettleWaiters();
  // TimerHandle is `unknown`: undefined means "none".
  let heartbeat: TimerHandle;
  let pollTimer: TimerHandle;
  let polling = false;
  let closing: Promise<void> | undefined;

  const env: ExecutionEnv = {
    db,
    clock,
    logger,
    owner,
    leaseMs,
    random: options.random ?? Math.random,
    serviceName: options.serviceName,
    traceStep: options.traceStep,
    finishRetry,
    hooks: {
      onCompleted: options.onCompleted,
      onCompensated: options.onCompensated,
      onNeedsAttention: options.onNeedsAttention,
    },
    stopping: stopping.signal,
    abandon: abandon.signal,
    definition: (type) => definitions.get(type),
    plan: (type, index) => {
      const plan = plans.get(type)?.[index];
      if (!plan) throw new Error(`no plan for saga ${type} step ${index}`);
      return plan;
    },
    settled: (id) => notifyWaiters(id),
  };

  function execute(id: string): void {
    if (stopping.signal.aborted) return;
    if (running.has(id)) {
      again.add(id);
      return;
    }
    const task = root(() => executeOnce(id));
    running.set(id, task);
    void task.finally(() => {
      running.delete(id);
      if (again.delete(id)) execute(id);
    });
  }

  async function executeOnce(id: string): Promise<void> {
    await semaphore.acquire();
    let execution: SagaExecution | undefined;
    try {
      if (stopping.signal.aborted) return;
      const starting = startedHere.get(id);
      startedHere.delete(id);
      const claim = (sql: Sql): Promise<SagaRecord | undefined> => {
        const now = clock.now();
        return sagaStore.claim(sql, id, owner, now, now + leaseMs, alive());
      };
      // Started in a caller's transaction: its advisory lock is free (and the row visible) only
      // once that transaction ended, so the claim waits for the lock in the same transaction.
      const record = starting?.inCallersTx
        ? await db.transaction(async (tx) => {
            await tx.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [lockClass, id]);
            return claim(tx);
          })
        : await claim(db);
      if (!record) return; // finished, parked, gone, or held by another live executor
      held.add(id);
      // Claimed right after its insert, with nothing written in between: it has no tries yet.
      const fresh =
        starting?.createdVersion !== undefined && record.version === starting.createdVersion + 1;
      const current = new SagaExecution(env, record, fresh);
      execution = current;
      // The saga's own context (its finish hooks write events in it): its starter's correlation
      // and span, so what it publishes joins the trace it was started in.
      await runInContext(
        {
          correlationId: record.correlationId,
          requestId: newRequestId(),
          trace: record.trace,
          caller: options.serviceName,
        },
        () => current.run(),
      );
    } catch (error) {
      logger.error({ err: error, sagaId: id }, "could not execute saga");
    } finally {
      semaphore.release();
      if (held.delete(id) && execution?.active && !abandon.signal.aborted) {
        // Stopped while active (closing, an error): let another executor take it at once.
        await sagaStore.release(db, owner, id).catch((error: unknown) => {
          logger.warn({ err: error, sagaId: id }, "could not release saga lease");
        });
      }
    }
  }

  /** Holders whose leases count until they run out: all of them unless the db is exclusive. */
  function alive(): Alive {
    return db.exclusive ? liveLeaseOwners.besides(owner) : null;
  }

  function scheduleHeartbeat(): void {
    heartbeat = clock.setTimeout(
      () => {
        void root(renewLeases);
      },
      Math.max(1, Math.floor(leaseMs / 3)),
    );
  }

  async function renewLeases(): Promise<void> {
    try {
      if (held.size > 0 && !abandon.signal.aborted) {
        await sagaStore.renewLeases(db, owner, [...held], clock.now() + leaseMs);
      }
    } catch (error) {
      logger.warn({ err: error }, "could not renew saga leases");
    } finally {
      if (!closing) scheduleHeartbeat();
    }
  }

  function schedulePoll(): void {
    if (pollIntervalMs === 0 || stopping.signal.aborted) return;
    pollTimer = clock.setTimeout(() => {
      void root(async () => {
        try {
          await scan();
        } catch (error) {
          logger.warn({ err: error }, "saga poll failed");
        } finally {
          schedulePoll();
        }
      });
    }, pollIntervalMs);
  }

  async function scan(): Promise<number> {
    const ids = await sagaStore.findClaimable(db, clock.now(), scanBatch, alive());
    let scheduled = 0;
    for (const id of ids) {
      if (running.has(id)) continue;
      execute(id);
      scheduled++;
    }
    if (scheduled > 0) logger.info({ scheduled }, "resuming sagas");
    return scheduled;
  }

  /**
   * Executes a saga `start` just wrote: `inCallersTx` when it is in the caller's transaction,
   * `createdVersion` when the row is new (a claim one version later finds no tries to count).
   */
  function executeStarted(id: string, inCallersTx: boolean, createdVersion?: number): void {
    startedHere.set(id, { inCallersTx, createdVersion });
    execute(id);
  }

  function assertOpen(): void {
    if (stopping.signal.aborted) {
      throw new PlexusError(Code.Unavailable, "the saga orchestrator is closing");
    }
  }

  async function checkRepeat(sql: Sql, existing: SagaRecord, type: string, inputJson: string) {
    if (existing.type !== type || !(await sagaStore.sameInput(sql, existing.id, inputJson))) {
      throw new PlexusError(
        Code.AlreadyExists,
        `saga ${existing.id} already exists with another type or input`,
        { reason: "SAGA_ID_REUSED" },
      );
    }
  }

  async function start<I>(
    type: string,
    input: I,
    startOptions: StartSagaOptions = {},
  ): Promise<StartedSaga> {
    assertOpen();
    if (!definitions.has(type)) {
      throw new PlexusError(Code.InvalidArgument, `unknown saga type "${type}"`);
    }
    const id = checkSagaId(startOptions.id ?? randomUUID());
    const inputJson = JSON.stringify(input);
    if (inputJson === undefined) {
      throw validationError([{ field: "input", message: "must be representable as JSON" }]);
    }
    const starter = currentContext();
    const correlationId = starter?.correlationId ?? newCorrelationId();
    const now = clock.now();
    const tx = startOptions.tx;
    if (tx) {
      // Held until the caller's transaction ends; the execution waits for it (see ADR).
      await tx.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [lockClass, id]);
      const { record, created } = await sagaStore.insert(tx, {
        id,
        type,
        inputJson,
        correlationId,
        trace: starter?.trace,
        leaseOwner: null,
        leaseUntil: null,
        now,
      });
      if (!created) await checkRepeat(tx, record, type, inputJson);
      if (created || isActiveStatus(record.status)) {
        executeStarted(id, true, created ? record.version : undefined);
      }
      return { id, created };
    }
    const { record, created } = await sagaStore.insert(db, {
      id,
      type,
      inputJson,
      correlationId,
      trace: starter?.trace,
      leaseOwner: owner,
      leaseUntil: now + leaseMs,
      now,
    });
    if (!created) await checkRepeat(db, record, type, inputJson);
    if (created) logger.debug({ sagaId: id, sagaType: type }, "saga started");
    if (created || isActiveStatus(record.status)) {
      executeStarted(id, false, created ? record.version : undefined);
    }
    return { id, created };
  }

  async function retry(sagaId: string): Promise<void> {
    assertOpen();
    checkSagaId(sagaId);
    if (!(await sagaStore.unpark(db, sagaId, clock.now()))) {
      const record = await sagaStore.find(db, sagaId);
      if (!record) {
        throw new PlexusError(Code.NotFound, `saga ${sagaId} not found`, {
          reason: "SAGA_NOT_FOUND",
        });
      }
      throw new PlexusError(
        Code.FailedPrecondition,
        `saga ${sagaId} is ${record.status}; only a NEEDS_ATTENTION saga can be retried`,
      );
    }
    logger.info({ sagaId }, "saga retried by an operator");
    execute(sagaId);
  }

  async function get(sagaId: string): Promise<SagaView | undefined> {
    return sagaStore.view(db, checkSagaId(sagaId));
  }

  async function list(query: ListSagasQuery = {}): Promise<SagaPage> {
    const limit = query.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1) {
      throw validationError([{ field: "limit", message: "must be an integer >= 1" }]);
    }
    if (query.status !== undefined && !isSagaStatus(query.status)) {
      throw validationError([{ field: "status", message: "not a saga status" }]);
    }
    const pageSize = Math.min(limit, 100);
    const rows = await sagaStore.list(db, {
      status: query.status,
      type: query.type,
      limit: pageSize,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    });
    const page = rows.slice(0, pageSize);
    const last = page.at(-1);
    return {
      items: page.map(toSummary),
      nextCursor:
        rows.length > pageSize && last
          ? encodeCursor({ createdAt: last.createdAt, id: last.id })
          : null,
    };
  }

  function settled(sagaId: string, settleOptions: { signal?: AbortSignal } = {}) {
    if (closing) {
      return Promise.reject(new PlexusError(Code.Unavailable, "the saga orchestrator is closed"));
    }
    const { waiter, settled: done } = waiters.add(sagaId, settleOptions.signal);
    // Registered first, read second: a saga settling in between is not missed.
    void root(async () => {
      try {
        const view = await get(sagaId);
        if (!view) {
          waiter.reject(
            new PlexusError(Code.NotFound, `saga ${sagaId} not found`, {
              reason: "SAGA_NOT_FOUND",
            }),
          );
        } else if (!isActiveStatus(view.status)) {
          waiter.resolve(view);
        }
      } catch (error) {
        waiter.reject(error);
      }
    });
    return done;
  }

  function notifyWaiters(sagaId: string): void {
    if (!waiters.has(sagaId)) return;
    void root(async () => {
      try {
        const view = await get(sagaId);
        if (view && !isActiveStatus(view.status)) waiters.resolve(sagaId, view);
      } catch (error) {
        waiters.reject(sagaId, error);
      }
    });
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      stopping.abort();
      if (pollTimer !== undefined) clock.clearTimeout(pollTimer);
      const inFlight = [...running.values()];
      if (inFlight.length > 0 && !abandon.signal.aborted) {
        const drained = await boundedWait(Promise.allSettled(inFlight), closeTimeoutMs, clock);
        if (!drained) {
          logger.warn(
            { inFlight: running.size },
            "saga steps still running at close; abandoned, they resume with the same keys",
          );
        }
      }
      abandon.abort();
      if (heartbeat !== undefined) clock.clearTimeout(heartbeat);
      try {
        await sagaStore.release(db, owner);
      } catch (error) {
        logger.warn({ err: error }, "could not release saga leases at close");
      }
      liveLeaseOwners.delete(owner);
      waiters.rejectAll(new PlexusError(Code.Unavailable, "the saga orchestrator is closed"));
    })();
    return closing;
  }

  liveLeaseOwners.add(owner);
  scheduleHeartbeat();

  return {
    start,
    async resumeAll() {
      assertOpen();
      const scheduled = await scan();
      if (!polling) {
        polling = true;
        schedulePoll();
      }
      return scheduled;
    },
    retry,
    get,
    list,
    settled,
    close,
    destroy() {
      abandon.abort();
      return close();
    },
    [Symbol.asyncDispose]: close,
  };
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

/** Whether `promise` settled within `ms` on `clock`. */
function boundedWait(promise: Promise<unknown>, ms: number, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clock.clearTimeout(timer);
      resolve(true);
    });
  });
}
