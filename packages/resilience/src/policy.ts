/**
 * A resilience policy is an interceptor of attempts — core's one hook shape (`interceptor.ts`),
 * with an {@link Attempt} for its call: an operation (any `(signal, context) => Promise<T>`
 * function) and the scope it runs in. Policies compose with core's `chainInterceptors`, once;
 * {@link execute} is where a direct caller enters.
 */
import {
  chainInterceptors,
  neverAborted,
  rejectedWith,
  type CallHandler,
  type Interceptor,
} from "@plexus/core";

/** Core's: the signal of an execution nothing can abort. */
export { neverAborted };

/**
 * What an operation is told about the attempt it runs as: the call scope's deadline and
 * cancellation (core's `CallContext` carries them; an RPC call's attempt is sent with them as its
 * context), as the enclosing policies narrowed them, and the attempt's number.
 */
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

/**
 * One attempt at an operation, as a policy sees it: the call of the policies' interceptor chain.
 * A policy that changes nothing passes it on as is; one that narrows the scope (a timeout) or
 * starts another attempt (a retry, a hedge) passes a new one.
 */
export interface Attempt extends PolicyContext {
  readonly operation: Operation<unknown>;
}

/** The rest of a chain of policies, as a policy sees it. */
export type AttemptHandler = CallHandler<Attempt, unknown>;

/**
 * A resilience policy: an interceptor of attempts. Composed once (core's `chainInterceptors`,
 * or {@link createPipeline}), so a call allocates nothing per layer.
 */
export type Policy = Interceptor<Attempt, unknown>;

/** Where an execution starts: the caller's signal and deadline. */
export interface ExecuteOptions {
  /** The caller's cancellation; aborting it aborts every attempt. */
  signal?: AbortSignal;
  /** Absolute deadline (epoch ms) of the whole execution, including retries and backoff. */
  deadline?: number;
}

/** The innermost handler: calls the operation, turning a synchronous throw into a rejection. */
export function callOperation(attempt: Attempt): Promise<unknown> {
  try {
    return attempt.operation(attempt.signal, attempt);
  } catch (error) {
    return rejectedWith(error);
  }
}

/** The first attempt of an execution. */
export function firstAttempt(
  operation: Operation<unknown>,
  options: ExecuteOptions | AbortSignal | undefined,
): Attempt {
  if (options === undefined) {
    return { operation, signal: neverAborted, deadline: undefined, attempt: 1 };
  }
  if (options instanceof AbortSignal) {
    return { operation, signal: options, deadline: undefined, attempt: 1 };
  }
  return {
    operation,
    signal: options.signal ?? neverAborted,
    deadline: options.deadline,
    attempt: 1,
  };
}

/** The chain of each policy run directly, composed on its first {@link execute}. */
const composed = new WeakMap<Policy, AttemptHandler>();

/** The policy composed around the operation call, once. */
export function handlerOf(policy: Policy): AttemptHandler {
  let handler = composed.get(policy);
  if (handler === undefined) {
    handler = chainInterceptors([policy], callOperation);
    composed.set(policy, handler);
  }
  return handler;
}

/**
 * Runs `fn` under `policy` (one policy, or a pipeline from {@link createPipeline}): the entry
 * point for direct use. The policy is composed around the call once, on first use.
 *
 * @example
 * const result = await execute(policy, (signal) => fetch(url, { signal }), { signal });
 */
export function execute<T>(
  policy: Policy,
  fn: Operation<T>,
  options?: ExecuteOptions | AbortSignal,
): Promise<T> {
  return handlerOf(policy)(firstAttempt(fn, options)) as Promise<T>;
}

/** Gives a policy (an interceptor function) the properties of its state, getters included. */
export function withState<P extends object>(policy: Policy, state: P): Policy & P {
  return Object.defineProperties(policy, Object.getOwnPropertyDescriptors(state)) as Policy & P;
}
