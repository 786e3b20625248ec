import { resolveRetryPolicy, type RetryPolicy } from "./retry-policy.ts";
import { defineSaga, type SagaDefinition } from "./saga-definition.ts";

/** The retry policies and timeouts of one step, resolved once when the orchestrator is made. */
export interface StepPlan {
  readonly action: RetryPolicy;
  readonly compensation: RetryPolicy;
  readonly timeoutMs: number;
  readonly compensationTimeoutMs: number;
}

/** The orchestrator-wide settings each step's own settings apply over. */
export interface StepDefaults {
  readonly timeoutMs: number;
  readonly actionRetry: RetryPolicy;
  readonly compensationRetry: RetryPolicy;
}

/**
 * The sagas one orchestrator runs, by name, with the plan of every step: resolved once here, so
 * a try only looks its policies up (and a bad setting fails `createSagaOrchestrator`, not a saga).
 */
export class SagaRegistry {
  readonly #definitions = new Map<string, SagaDefinition>();
  readonly #plans = new Map<string, readonly StepPlan[]>();

  constructor(definitions: readonly SagaDefinition[], defaults: StepDefaults) {
    for (const definition of definitions) {
      defineSaga(definition);
      if (this.#definitions.has(definition.name)) {
        throw new TypeError(`saga "${definition.name}" is defined twice`);
      }
      this.#definitions.set(definition.name, definition);
      this.#plans.set(
        definition.name,
        definition.steps.map((step) => {
          const timeoutMs = step.timeoutMs ?? defaults.timeoutMs;
          return {
            action: resolveRetryPolicy(defaults.actionRetry, step.retry),
            compensation: resolveRetryPolicy(defaults.compensationRetry, step.compensationRetry),
            timeoutMs,
            compensationTimeoutMs: step.compensationTimeoutMs ?? timeoutMs,
          };
        }),
      );
    }
  }

  /** The definition of saga type `type`; undefined when this orchestrator does not run it. */
  definition(type: string): SagaDefinition | undefined {
    return this.#definitions.get(type);
  }

  plan(type: string, stepIndex: number): StepPlan {
    const plan = this.#plans.get(type)?.[stepIndex];
    if (!plan) throw new Error(`no plan for saga ${type} step ${stepIndex}`);
    return plan;
  }
}
