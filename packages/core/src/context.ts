import { AsyncLocalStorage } from "node:async_hooks";
import { systemClock, type Clock } from "./clock.ts";
import { Code } from "./code.ts";
import type { TraceParent } from "./ids.ts";
import { PlexusError } from "./plexus-error.ts";

/** Who is calling, as established by authentication at the edge. */
export interface Principal {
  /** Stable subject id (a user id). */
  readonly subject: string;
  /** Plan tier, for per-tier limits. */
  readonly tier?: string;
}

/**
 * What travels with every call and message, across async boundaries (AsyncLocalStorage), across
 * in-process calls and across the network (headers). It is the one carrier of a call's deadline
 * and cancellation: derive a child's with `childScope` (call-scope.ts), not by hand.
 */
export interface CallContext {
  /** One id for an end-to-end interaction; taken from the client when well-formed. */
  readonly correlationId: string;
  /** This hop's id. */
  readonly requestId: string;
  /** W3C trace context of the current span. */
  readonly trace?: TraceParent;
  /** Absolute deadline (epoch ms). Children never outlive it. */
  readonly deadline?: number;
  readonly principal?: Principal;
  /** Idempotency key of the current operation, for non-idempotent calls that may be retried. */
  readonly idempotencyKey?: string;
  /** The calling service's name, for per-(caller, callee) metrics. */
  readonly caller?: string;
  /** Aborted when the work this context belongs to is abandoned (client gone, deadline passed). */
  readonly signal?: AbortSignal;
}

const storage = new AsyncLocalStorage<CallContext>();

/** Runs `fn` with `ctx` as the current context; every await inside sees it. */
export function runInContext<T>(ctx: CallContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** The current context, if any code up the async chain set one. */
export function currentContext(): CallContext | undefined {
  return storage.getStore();
}

/** Milliseconds left before the deadline (`Infinity` without one; may be negative). */
export function remainingMs(ctx: CallContext | undefined, clock: Clock = systemClock): number {
  return ctx?.deadline === undefined ? Infinity : ctx.deadline - clock.now();
}

/** Throws `DeadlineExceeded` when the deadline has passed: no work may start after it. */
export function assertDeadline(ctx: CallContext | undefined, clock: Clock = systemClock): void {
  if (remainingMs(ctx, clock) <= 0) {
    throw new PlexusError(Code.DeadlineExceeded, "deadline exceeded");
  }
}

/** The earlier of two optional absolute deadlines. */
export function earliestDeadline(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
