import { newRequestId, runInContext, type Clock } from "@plexus/core";
import type { ExecutionEnv, InRoot } from "./execution-env.ts";
import { SagaExecution } from "./saga-execution.ts";
import type { SagaLeases } from "./saga-leases.ts";
import type { Semaphore } from "@plexus/core";

export interface SagaExecutorOptions {
  readonly env: ExecutionEnv;
  readonly leases: SagaLeases;
  /** Bounds how many sagas execute at once; the rest wait their turn unclaimed. */
  readonly semaphore: Semaphore;
  readonly root: InRoot;
}

/** A saga `start` just wrote, until its execution claims it. */
interface StartedHere {
  /** Written in the caller's transaction: the claim waits for it to end. */
  readonly inCallersTx: boolean;
  /** The version the insert gave it; undefined when `start` found it existing. */
  readonly createdVersion: number | undefined;
}

/**
 * Runs sagas in this process: one execution per saga at a time (asked again while one runs, it
 * runs once more after it: the state changed meanwhile), at most `maxConcurrent` at once (the
 * others wait unclaimed, so another process may take them), each claimed under a lease and run
 * in the saga's own context. Executions run in the orchestrator's async context, never in a
 * caller's: not inside its CallContext (deadline, signal) nor inside its open transaction.
 */
export class SagaExecutor {
  readonly #options: SagaExecutorOptions;
  readonly #semaphore: Semaphore;
  /** Executions scheduled or running here, by saga id. */
  readonly #running = new Map<string, Promise<void>>();
  /** Sagas to execute again once their current execution ends. */
  readonly #again = new Set<string>();
  readonly #startedHere = new Map<string, StartedHere>();

  constructor(options: SagaExecutorOptions) {
    this.#options = options;
    this.#semaphore = options.semaphore;
  }

  /** Executes the saga unless closing (once more after the current execution, if one runs). */
  execute(id: string): void {
    if (this.#options.env.stopping.aborted) return;
    if (this.#running.has(id)) {
      this.#again.add(id);
      return;
    }
    const task = this.#options.root(() => this.#executeOnce(id));
    this.#running.set(id, task);
    void task.finally(() => {
      this.#running.delete(id);
      if (this.#again.delete(id)) this.execute(id);
    });
  }

  /** Executes a saga `start` just wrote (see {@link StartedHere}). */
  executeStarted(id: string, started: StartedHere): void {
    this.#startedHere.set(id, started);
    this.execute(id);
  }

  isRunning(id: string): boolean {
    return this.#running.has(id);
  }

  /**
   * Closing: lets the executions in flight end for up to `ms` (unless they are abandoned
   * already); the ones still running then are left to be abandoned.
   */
  async drain(ms: number): Promise<void> {
    const { env } = this.#options;
    const inFlight = [...this.#running.values()];
    if (inFlight.length === 0 || env.abandon.aborted) return;
    const drained = await boundedWait(Promise.allSettled(inFlight), ms, env.clock);
    if (!drained) {
      env.logger.warn(
        { inFlight: this.#running.size },
        "saga steps still running at close; abandoned, they resume with the same keys",
      );
    }
  }

  async #executeOnce(id: string): Promise<void> {
    const { env, leases } = this.#options;
    await this.#semaphore.acquire();
    let execution: SagaExecution | undefined;
    try {
      if (env.stopping.aborted) return;
      const starting = this.#startedHere.get(id);
      this.#startedHere.delete(id);
      const record = await leases.claim(id, starting?.inCallersTx === true);
      if (!record) return; // finished, parked, gone, or held by another live executor
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
          caller: env.serviceName,
        },
        () => current.run(),
      );
    } catch (error) {
      env.logger.error({ err: error, sagaId: id }, "could not execute saga");
    } finally {
      this.#semaphore.release();
      await leases.release(id, execution?.active === true);
    }
  }
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
