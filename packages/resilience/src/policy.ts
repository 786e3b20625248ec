/**
 * The shape every policy shares: it runs an {@link Operation} — any `(signal) => Promise<T>`
 * function — and passes it a signal (and a context with the attempt's deadline and number).
 */
import { neverAborted } from "@plexus/core";

/** What an operation is told about the attempt it runs as. */
export interface PolicyContext {
  /** Aborted when this attempt must stop: its timeout, the overall deadline, the caller's cancellation, a won hedge. */
  readonly signal: AbortSignal;
  /**
   * Absolute deadline of this attempt (epoch ms): the earliest of every enclosing timeout and
   * the caller's deadline. Propagate it (e.g. as `connect-timeout-ms`) so the callee stops too.
   */
  readonly deadline: number | undefined;
  /** 1 for the first attempt, 2 for the first retry or hedge, and so on. */
  readonly attempt: number;
}

/** Any async function a policy can run. */
export type Operation<T> = (signal: AbortSignal, context: PolicyContext) => Promise<T>;

/** The rest of a composed pipeline, as a policy sees it: call `run` to go one layer inwards. */
export interface Next {
  run<T>(fn: Operation<T>, context: PolicyContext): Promise<T>;
}

/** Where an execution starts: the caller's signal and deadline. */
export interface ExecuteOptions {
  /** The caller's cancellation; aborting it aborts every attempt. */
  signal?: AbortSignal;
  /** Absolute deadline (epoch ms) of the whole execution, including retries and backoff. */
  deadline?: number;
}

/**
 * A resilience policy. `execute` is for direct use; `run` is the composition protocol that
 * {@link compose} uses so a pipeline allocates no closure per layer per call.
 */
export interface Policy {
  /**
   * Runs `fn` under this policy.
   *
   * @example
   * const result = await policy.execute((signal) => fetch(url, { signal }), { signal });
   */
  execute<T>(fn: Operation<T>, options?: ExecuteOptions | AbortSignal): Promise<T>;
  /** Runs `fn` under this policy, reaching it through `next` (the inner layers). */
  run<T>(next: Next, fn: Operation<T>, context: PolicyContext): Promise<T>;
}

/** One signal that never aborts, shared by every execution that has no caller signal (core's). */
export { neverAborted };

/** A rejected promise for whatever a synchronous call threw (kept as is, not normalised). */

export async function rejectedWith(error: unknown): Promise<never> {
  throw error;
}

/** The innermost layer: calls the operation, turning a synchronous throw into a rejection. */
export const callOperation: Next = {
  run<T>(fn: Operation<T>, context: PolicyContext): Promise<T> {
    try {
      return fn(context.signal, context);
    } catch (error) {
      return rejectedWith(error);
    }
  },
};

/** The context an execution starts with. */
export function startContext(options: ExecuteOptions | AbortSignal | undefined): PolicyContext {
  if (options === undefined) return { signal: neverAborted, deadline: undefined, attempt: 1 };
  if (options instanceof AbortSignal) return { signal: options, deadline: undefined, attempt: 1 };
  return { signal: options.signal ?? neverAborted, deadline: options.deadline, attempt: 1 };
}

/** Implements `Policy.execute` on top of `Policy.run`. */
export function executeWith<T>(
  policy: Policy,
  fn: Operation<T>,
  options: ExecuteOptions | AbortSignal | undefined,
): Promise<T> {
  return policy.run(callOperation, fn, startContext(options));
}

class Layer implements Next {
  private readonly policy: Policy;
  private readonly next: Next;

  constructor(policy: Policy, next: Next) {
    this.policy = policy;
    this.next = next;
  }

  run<T>(fn: Operation<T>, context: PolicyContext): Promise<T> {
    return this.policy.run(this.next, fn, context);
  }
}

/**
 * Composes policies into one; the first listed runs outermost (like `chainInterceptors`). The
 * layers are linked once, here: a call through the result allocates nothing per layer.
 *
 * For the order that works — fallback, deadline, rate limiter, retry or hedging, bulkhead,
 * circuit breaker, per-try timeout — use {@link createPipeline}, which fixes it (see the ADR).
 *
 * @example
 * const policy = compose(retry, breaker, timeout);
 * await policy.execute((signal) => callService(signal));
 */
export function compose(...policies: readonly Policy[]): Policy {
  if (policies.length === 1) return policies[0]!;
  const link = (inner: Next): Next => {
    let chain = inner;
    for (let i = policies.length - 1; i >= 0; i--) chain = new Layer(policies[i]!, chain);
    return chain;
  };
  const direct = link(callOperation);
  // A composite nested in another pipeline sees that pipeline's inner end; link it once too.
  const nested = new WeakMap<Next, Next>();
  return {
    execute<T>(fn: Operation<T>, options?: ExecuteOptions | AbortSignal): Promise<T> {
      return direct.run(fn, startContext(options));
    },
    run<T>(next: Next, fn: Operation<T>, context: PolicyContext): Promise<T> {
      if (next === callOperation) return direct.run(fn, context);
      let chain = nested.get(next);
      if (chain === undefined) {
        chain = link(next);
        nested.set(next, chain);
      }
      return chain.run(fn, context);
    },
  };
}
