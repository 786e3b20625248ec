/*
 * Test support for this package's tests (not exported): a downstream service that applies each
 * idempotency key once, deferred promises, real-time polling for conditions, and the per-file
 * orchestrator environment the orchestrator tests share.
 */
import { currentContext, type Db } from "@plexus/core";
import { openStorage, type Storage } from "@plexus/storage";
import { createFakeClock, type FakeClock } from "@plexus/testing";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { defineSaga, type SagaDefinition, type StepContext } from "./saga-definition.ts";
import {
  createSagaOrchestrator,
  type SagaOrchestrator,
  type SagaOrchestratorOptions,
} from "./saga-orchestrator.ts";
import { sagaMigrations, sagaTraceMigration } from "./saga-migrations.ts";
import type { SagaView } from "./saga-view.ts";

/** One call a step made to the fake downstream. */
export interface DownstreamCall {
  readonly sagaId: string;
  readonly step: string;
  readonly phase: "action" | "compensation";
  readonly key: string;
  readonly attempt: number;
  /** The idempotency key the CallContext carried (what the RPC pipeline would forward). */
  readonly contextKey: string | undefined;
}

/**
 * A downstream service as a saga sees it: every call is recorded, and an effect is applied once
 * per idempotency key (a repeat returns the first result), like an idempotent endpoint.
 */
export class FakeDownstream {
  readonly calls: DownstreamCall[] = [];
  readonly #effects = new Map<string, unknown>();

  /** Records a call and applies its effect unless the key was applied before. */
  apply(
    ctx: {
      sagaId: string;
      step: string;
      phase: "action" | "compensation";
      idempotencyKey: string;
      attempt: number;
    },
    result: unknown = `${ctx.step}-result`,
  ): unknown {
    this.record(ctx);
    if (!this.#effects.has(ctx.idempotencyKey)) this.#effects.set(ctx.idempotencyKey, result);
    return this.#effects.get(ctx.idempotencyKey);
  }

  /** Records a call that had no effect (a refusal, a failure before anything happened). */
  record(ctx: {
    sagaId: string;
    step: string;
    phase: "action" | "compensation";
    idempotencyKey: string;
    attempt: number;
  }): void {
    this.calls.push({
      sagaId: ctx.sagaId,
      step: ctx.step,
      phase: ctx.phase,
      key: ctx.idempotencyKey,
      attempt: ctx.attempt,
      contextKey: currentContext()?.idempotencyKey,
    });
  }

  /** How many distinct effects were applied (optionally for one saga). */
  effects(sagaId?: string): string[] {
    return [...this.#effects.keys()].filter(
      (k) => sagaId === undefined || k.startsWith(`${sagaId}:`),
    );
  }

  /** `step:phase` of every call of a saga, in order. */
  trace(sagaId: string): string[] {
    return this.calls.filter((c) => c.sagaId === sagaId).map((c) => `${c.step}:${c.phase}`);
  }
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets real I/O (PGlite) make progress; the fake clock is not involved. */
export function realTick(ms = 2): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` on real time until it returns a truthy value (bounded by `timeoutMs` of real
 * time, far above what any passing run needs: it only turns a hang into a clear failure).
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what = "condition",
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await realTick();
  }
}

let schemaCounter = 0;

/** One in-memory PGlite per test file, a fresh service schema (with the saga tables) per test. */
export async function openTestStorage(): Promise<{
  storage: Storage;
  freshDb: (extraSql?: string) => Promise<Db>;
}> {
  const storage = await openStorage({});
  return {
    storage,
    freshDb: (extraSql) =>
      storage.forService(`saga_t${++schemaCounter}`, [
        ...sagaMigrations(1),
        sagaTraceMigration(2),
        ...(extraSql ? [{ id: 3, name: "business", sql: extraSql }] : []),
      ]),
  };
}

/** What {@link useSagaTestEnv} gives a test file. */
export interface SagaTestEnv {
  /** Where every test's fake clock starts. */
  readonly epoch: number;
  /** A fresh service schema with the saga tables (and `extraSql` as a later migration). */
  readonly freshDb: (extraSql?: string) => Promise<Db>;
  /** This test's fake clock (a new one per test, starting at the same epoch). */
  readonly clock: FakeClock;
  /** This test's fake downstream (a new one per test). */
  readonly down: FakeDownstream;
  /**
   * An orchestrator on this test's clock, polling and retrying without delay unless `extra` says
   * otherwise; destroyed after the test.
   */
  readonly orchestrate: (
    db: Db,
    definitions: readonly SagaDefinition[],
    extra?: Partial<SagaOrchestratorOptions>,
  ) => SagaOrchestrator;
}

/**
 * Registers the hooks of an orchestrator test file: one storage for the file, a fresh clock and
 * downstream per test, every orchestrator the test made destroyed after it.
 *
 * @param defaults Options every orchestrator of the file gets (before the call's own `extra`).
 */
export function useSagaTestEnv(defaults: Partial<SagaOrchestratorOptions> = {}): SagaTestEnv {
  const epoch = Date.UTC(2030, 0, 1);
  let storage: Storage;
  let freshDb: (extraSql?: string) => Promise<Db>;
  let clock: FakeClock;
  let down: FakeDownstream;
  const open: SagaOrchestrator[] = [];

  beforeAll(async () => {
    ({ storage, freshDb } = await openTestStorage());
  });
  afterAll(() => storage.close());
  beforeEach(() => {
    clock = createFakeClock(epoch);
    down = new FakeDownstream();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((o) => o.destroy()));
  });

  return {
    epoch,
    freshDb: (extraSql) => freshDb(extraSql),
    get clock() {
      return clock;
    },
    get down() {
      return down;
    },
    orchestrate: (db, definitions, extra = {}) => {
      const orchestrator = createSagaOrchestrator({
        db,
        definitions,
        clock,
        pollIntervalMs: 0,
        actionRetry: { initialDelayMs: 0 },
        compensationRetry: { initialDelayMs: 0 },
        ...defaults,
        ...extra,
      });
      open.push(orchestrator);
      return orchestrator;
    },
  };
}

/** A saga's tries as `step:phase#attempt=outcome`, in order: what a test compares. */
export const timeline = (view: Pick<SagaView, "steps"> | undefined): string[] =>
  (view?.steps ?? []).map((s) => `${s.step}:${s.phase}#${s.attempt}=${s.outcome}`);

/**
 * reserve → charge → confirm against `down`, with the charge's behaviour given per try: the
 * shape of the shop's order saga, a declined charge being its business failure.
 */
export function orderSaga(
  down: FakeDownstream,
  charge: (ctx: StepContext<{ orderId: string }>) => Promise<unknown>,
  extra: Partial<SagaDefinition<{ orderId: string }>> = {},
): SagaDefinition<{ orderId: string }> {
  return defineSaga<{ orderId: string }>({
    name: "order",
    steps: [
      {
        name: "reserve",
        action: async (ctx) => down.apply(ctx, { reservation: `res-${ctx.input.orderId}` }),
        compensation: async (ctx) => {
          down.apply(ctx);
        },
      },
      {
        name: "charge",
        action: charge,
        compensation: async (ctx) => {
          down.apply(ctx);
        },
        isBusinessFailure: (error) => error.reason === "PAYMENT_DECLINED",
      },
      {
        name: "confirm",
        action: async (ctx) => {
          down.apply(ctx);
        },
      },
    ],
    ...extra,
  });
}
