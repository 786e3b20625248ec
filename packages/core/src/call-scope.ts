import { setMaxListeners } from "node:events";
import { systemClock, type Clock } from "./clock.ts";
import { Code } from "./code.ts";
import type { CallContext, Principal } from "./context.ts";
import { childTraceparent, newCorrelationId, newRequestId, type TraceParent } from "./ids.ts";
import { PlexusError } from "./plexus-error.ts";
import { slotOfSignal, timerSlotsFor } from "./timer-slots.ts";

/**
 * One signal that never aborts, shared by every scope that has no reason to abort: such a scope
 * needs no AbortController. Never add listeners to it (they would pile up on a shared target);
 * check for it first.
 */
export const neverAborted: AbortSignal = new AbortController().signal;

/**
 * The error an aborted signal stands for: the PlexusError it was aborted with (a deadline, a
 * parent's cancellation), `DeadlineExceeded` for a `TimeoutError`, else `Canceled`.
 */
export function abortReason(signal: AbortSignal): PlexusError {
  return errorOfReason(signal.reason);
}

function errorOfReason(reason: unknown): PlexusError {
  if (reason instanceof PlexusError) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new PlexusError(Code.DeadlineExceeded, "deadline exceeded", { cause: reason });
  }
  return new PlexusError(Code.Canceled, "call canceled", { cause: reason });
}

/** What a child call adds to, or overrides in, the scope it inherits. */
export interface ScopeOptions {
  /** The child's own time budget from now; its deadline is the earlier of this and the parent's. */
  readonly timeoutMs?: number | undefined;
  /** An absolute deadline of its own (a server's, read from the wire); the earliest one wins. */
  readonly deadline?: number | undefined;
  /** A cancellation of its own (a caller's signal), besides the parent's. */
  readonly signal?: AbortSignal | undefined;
  /** Replaces the inherited idempotency key. */
  readonly idempotencyKey?: string | undefined;
  /** The calling service's name. Never inherited: the parent's caller is someone else. */
  readonly caller?: string | undefined;
  /** This hop's id. Default: the parent's (a client call is part of its parent's hop). */
  readonly requestId?: string | undefined;
  /**
   * `true` for a scope its owner cancels itself ({@link CallScope.cancel}): a server's, which
   * ends when its client goes away and at its deadline. Such a scope arms no timer (the owner
   * enforces the deadline) and is not checked on creation (the owner answers a late call).
   */
  readonly cancellable?: boolean | undefined;
  /** Time source for the deadline. Default `systemClock`. */
  readonly clock?: Clock | undefined;
}

/** Aborts one controller when any source aborts; listens as an EventListener object. */
class SignalLink {
  readonly controller = new AbortController();
  private readonly sources: readonly AbortSignal[];

  constructor(sources: readonly AbortSignal[]) {
    this.sources = sources;
    // Children of a fanning-out call each listen to it and remove their listener when they end.
    setMaxListeners(0, this.controller.signal);
    for (const source of sources) {
      if (source.aborted) {
        // Read late: a source gave up before anyone asked for the signal.
        this.controller.abort(source.reason);
        this.release();
        return;
      }
      source.addEventListener("abort", this, { once: true });
    }
  }

  handleEvent(event: Event): void {
    this.controller.abort((event.target as AbortSignal).reason);
    this.release();
  }

  release(): void {
    for (const source of this.sources) source.removeEventListener("abort", this);
  }
}

function deadlineExceeded(): PlexusError {
  return new PlexusError(Code.DeadlineExceeded, "deadline exceeded");
}

/**
 * The scope of one call: the one carrier of its deadline and cancellation, with the ids that
 * travel with it. Its `signal` is built on first read, from what can actually abort it — the
 * parent's signal, the caller's, and a shared timer slot when its own deadline is earlier than
 * its parent's — so a call nobody listens to costs no AbortController, and a call with one reason
 * to abort costs none either (it gets that reason's signal). Timers are shared slots
 * (`timer-slots.ts`): a call that finishes in time arms no timer of its own.
 */
export class CallScope implements CallContext {
  readonly correlationId: string;
  readonly requestId: string;
  readonly trace: TraceParent;
  readonly deadline: number | undefined;
  readonly principal: Principal | undefined;
  readonly idempotencyKey: string | undefined;
  readonly caller: string | undefined;
  readonly #parent: Partial<CallContext> | undefined;
  readonly #own: AbortSignal | undefined;
  readonly #clock: Clock;
  /** Whether a timer slot must enforce the deadline (no parent's signal does already). */
  readonly #timed: boolean;
  readonly #cancellable: boolean;
  #signal: AbortSignal | undefined = undefined;
  #link: SignalLink | undefined = undefined;
  #canceledWith: unknown = undefined;

  constructor(parent: Partial<CallContext> | undefined, options: ScopeOptions) {
    const clock = options.clock ?? systemClock;
    let deadline = parent?.deadline;
    if (options.deadline !== undefined && !(deadline !== undefined && deadline <= options.deadline))
      deadline = options.deadline;
    if (options.timeoutMs !== undefined) {
      const own = clock.now() + options.timeoutMs;
      if (deadline === undefined || own < deadline) deadline = own;
    }
    this.correlationId = parent?.correlationId ?? newCorrelationId();
    this.requestId = options.requestId ?? parent?.requestId ?? newRequestId();
    this.trace = childTraceparent(parent?.trace);
    this.deadline = deadline;
    this.principal = parent?.principal;
    this.idempotencyKey = options.idempotencyKey ?? parent?.idempotencyKey;
    this.caller = options.caller;
    this.#parent = parent;
    this.#own = options.signal;
    this.#clock = clock;
    this.#cancellable = options.cancellable === true;
    // A parent scope's signal already aborts at its deadline; a plain context's may not.
    const covered = parent instanceof CallScope && parent.deadline === deadline;
    this.#timed = deadline !== undefined && !this.#cancellable && !covered;
  }

  /** Aborted when the call must stop: its deadline, its caller's or parent's cancellation. */
  get signal(): AbortSignal {
    return (this.#signal ??= this.#combine());
  }

  /** The reason this scope is already aborted for, without building its signal. */
  #abortedWith(): unknown {
    if (this.#signal !== undefined) return this.#signal.aborted ? this.#signal.reason : undefined;
    if (this.#canceledWith !== undefined) return this.#canceledWith;
    if (this.#own?.aborted === true) return this.#own.reason;
    const parent = this.#parent;
    if (parent instanceof CallScope) return parent.#abortedWith();
    return parent?.signal?.aborted === true ? parent.signal.reason : undefined;
  }

  /**
   * Throws when no work may start in this scope: `DeadlineExceeded` once the deadline has
   * passed, the cancellation's error once the caller or the parent gave up. The one deadline
   * check of a call; {@link childScope} runs it on every scope it derives.
   */
  check(): void {
    if (this.deadline !== undefined && this.deadline <= this.#clock.now()) {
      throw deadlineExceeded();
    }
    const reason = this.#abortedWith();
    if (reason !== undefined) throw errorOfReason(reason);
  }

  #combine(): AbortSignal {
    if (this.#canceledWith !== undefined) return AbortSignal.abort(this.#canceledWith);
    const sources: AbortSignal[] = [];
    const parentSignal = this.#parent?.signal;
    if (parentSignal !== undefined && parentSignal !== neverAborted) sources.push(parentSignal);
    // A caller handing down its own context's signal gives no second reason to abort.
    const own = this.#own === parentSignal ? undefined : this.#own;
    if (own !== undefined && own !== neverAborted) sources.push(own);
    if (this.#timed) {
      const deadline = this.deadline!;
      const now = this.#clock.now();
      if (deadline <= now) return AbortSignal.abort(deadlineExceeded());
      const slot = timerSlotsFor(this.#clock, 1).slotFor(deadline, now);
      // A parent whose signal is a pure timer: the earlier of the two slots does both jobs.
      const parentSlot = parentSignal === undefined ? undefined : slotOfSignal(parentSignal);
      if (parentSlot === undefined) sources.push(slot.signal);
      else if (slot.at < parentSlot.at) sources[0] = slot.signal;
    }
    if (!this.#cancellable) {
      if (sources.length === 0) return neverAborted;
      if (sources.length === 1) return sources[0]!;
    }
    this.#link = new SignalLink(sources);
    return this.#link.controller.signal;
  }

  /**
   * Aborts a cancellable scope (see {@link ScopeOptions.cancellable}) with `reason`: its signal,
   * and every child scope's, aborts — at once if someone holds it, else when it is first read.
   */
  cancel(reason: PlexusError): void {
    if (!this.#cancellable) throw new TypeError("CallScope: only a cancellable scope is canceled");
    if (this.#canceledWith !== undefined) return;
    this.#canceledWith = reason;
    this.#link?.controller.abort(reason);
  }

  /** Stops listening to the parent's and the caller's signals; call it once the call is over. */
  release(): void {
    this.#link?.release();
  }
}

/**
 * The one way to derive a call's scope from its parent's (the current context, or what a
 * server read from the wire): the deadline is the earliest of the parent's and the child's own,
 * cancellation is the parent's and the caller's, the idempotency key, principal and correlation
 * id are inherited, and the trace gets a child span. Throws, like {@link CallScope.check}, when
 * the call may not start (unless the scope is `cancellable`: its owner answers instead).
 * Release the scope when the call is over.
 *
 * @example
 * const scope = childScope(currentContext(), { timeoutMs: 500, signal, caller: "orders" });
 * try {
 *   return await runInContext(scope, () => send(scope));
 * } finally {
 *   scope.release();
 * }
 */
export function childScope(
  parent: Partial<CallContext> | undefined,
  options: ScopeOptions = {},
): CallScope {
  const scope = new CallScope(parent, options);
  if (options.cancellable !== true) scope.check();
  return scope;
}
