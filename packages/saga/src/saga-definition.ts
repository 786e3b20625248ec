import type { Logger, PlexusError, Sql } from "@plexus/core";
import type { RetryPolicyOptions } from "./retry-policy.ts";
import type { SagaFailure, SagaView, StepPhase } from "./saga-view.ts";

/** What a step's action or compensation gets. */
export interface StepContext<I = unknown> {
  readonly sagaId: string;
  readonly sagaType: string;
  /** The saga's input, as given to `start` (after a JSON round trip). */
  readonly input: I;
  /** Outputs of the steps completed so far, by step name (JSON values). */
  readonly outputs: Readonly<Record<string, unknown>>;
  readonly step: string;
  readonly phase: StepPhase;
  /**
   * `${sagaId}:${step}:${phase}`: the same for every try of this half of this step, in every
   * process and after any resume, so the downstream service applies it at most once. Also set as
   * the CallContext's `idempotencyKey`, which the RPC pipeline forwards.
   */
  readonly idempotencyKey: string;
  /**
   * The key the step's action used (equal to `idempotencyKey` in the action). A compensation
   * uses it to name the effect to undo (e.g. "refund the charge made with key K"), and must
   * succeed when that effect never happened.
   */
  readonly actionIdempotencyKey: string;
  /** 1-based number of this try of this half of the step, counted over every execution. */
  readonly attempt: number;
  /** Aborted when this try times out or the orchestrator gives up on it while closing. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/** One step: an action and how to undo it. */
export interface SagaStep<I = unknown> {
  /** Unique within the saga; part of idempotency keys, so never rename a step of a live saga. */
  readonly name: string;
  /**
   * Does the step's work (typically one RPC to another service, carrying the idempotency key)
   * and returns its output: a JSON value (`undefined` is stored as `null`) that later steps and
   * compensations see in `outputs`.
   */
  action(ctx: StepContext<I>): Promise<unknown>;
  /**
   * Undoes the action. Must be idempotent and must succeed when the action had no effect: it
   * also runs for a step whose action failed in a way that may have taken effect (a timeout).
   */
  compensation?(ctx: StepContext<I>): Promise<void>;
  /** Bound of one try of the action. Default: the orchestrator's `stepTimeoutMs` (10 000 ms). */
  readonly timeoutMs?: number;
  /** Retry of the action, over the orchestrator's `actionRetry`. */
  readonly retry?: RetryPolicyOptions;
  /** Bound of one try of the compensation. Default: this step's `timeoutMs`. */
  readonly compensationTimeoutMs?: number;
  /** Retry of the compensation, over the orchestrator's `compensationRetry`. */
  readonly compensationRetry?: RetryPolicyOptions;
  /**
   * A definite refusal with no effect downstream (OUT_OF_STOCK, PAYMENT_DECLINED): never retried,
   * the saga compensates the completed steps at once and this step's compensation does not run.
   * Checked before retryability. Default: no error is a business failure.
   */
  isBusinessFailure?(error: PlexusError): boolean;
  /**
   * Whether this step's own compensation runs when its action failed for a reason other than a
   * business failure (retries exhausted, a timeout, an unexpected error): the effect may have
   * happened, so by default (true) it is undone too. Set false for a step whose failure is
   * always known to have had no effect.
   */
  readonly compensateOnFailure?: boolean;
}

/** What finish hooks get: the saga in its final (or parked) state and the open transaction. */
export interface SagaFinishedEvent<I = unknown> {
  readonly saga: SagaView;
  readonly input: I;
  readonly outputs: Readonly<Record<string, unknown>>;
  /** Why the saga compensated (or, parked, what failed first); undefined when it completed. */
  readonly failure: SagaFailure | undefined;
  /**
   * The transaction that writes the saga's final state. Write the business outcome (the order's
   * status, outbox events) through it: both commit together, or neither does and the
   * finalisation is retried.
   */
  readonly tx: Sql;
}

/** A named, ordered list of steps, with optional finish hooks. */
export interface SagaDefinition<I = unknown> {
  /** The saga type, given to `start`. */
  readonly name: string;
  readonly steps: readonly SagaStep<I>[];
  /** Runs in the transaction that marks the saga COMPLETED. */
  onCompleted?(event: SagaFinishedEvent<I>): Promise<void>;
  /** Runs in the transaction that marks the saga COMPENSATED. */
  onCompensated?(event: SagaFinishedEvent<I>): Promise<void>;
  /** Runs in the transaction that parks the saga as NEEDS_ATTENTION (alert from here). */
  onNeedsAttention?(event: SagaFinishedEvent<I>): Promise<void>;
}

const namePattern = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * Declares a saga, checking its shape at once (not at the first run).
 *
 * @example
 * export const placeOrder = defineSaga<PlaceOrderInput>({
 *   name: "place-order",
 *   steps: [
 *     { name: "reserve", action: (ctx) => catalog.reserve(...), compensation: (ctx) => catalog.release(...),
 *       isBusinessFailure: (e) => e.reason === "OUT_OF_STOCK" },
 *     { name: "charge", timeoutMs: 2_000, action: ..., compensation: ...,
 *       isBusinessFailure: (e) => e.reason === "PAYMENT_DECLINED" },
 *     { name: "confirm", action: ... },
 *   ],
 *   onCompleted: async ({ saga, tx }) => { await tx.query("UPDATE orders SET status = 'CONFIRMED' ...") },
 * });
 */
export function defineSaga<I>(definition: SagaDefinition<I>): SagaDefinition<I> {
  if (!namePattern.test(definition.name)) {
    throw new TypeError(`invalid saga name "${definition.name}": use 1-100 of [A-Za-z0-9._-]`);
  }
  if (definition.steps.length === 0) {
    throw new TypeError(`saga "${definition.name}" has no steps`);
  }
  const seen = new Set<string>();
  for (const step of definition.steps) {
    if (!namePattern.test(step.name)) {
      throw new TypeError(`saga "${definition.name}": invalid step name "${step.name}"`);
    }
    if (seen.has(step.name)) {
      throw new TypeError(`saga "${definition.name}": duplicate step name "${step.name}"`);
    }
    seen.add(step.name);
    for (const key of ["timeoutMs", "compensationTimeoutMs"] as const) {
      const ms = step[key];
      if (ms !== undefined && (!Number.isFinite(ms) || ms <= 0)) {
        throw new RangeError(`saga "${definition.name}" step "${step.name}": ${key} must be > 0`);
      }
    }
  }
  return definition;
}

/** The idempotency key of one half of one step of one saga. */
export function idempotencyKeyOf(sagaId: string, step: string, phase: StepPhase): string {
  return `${sagaId}:${step}:${phase}`;
}
