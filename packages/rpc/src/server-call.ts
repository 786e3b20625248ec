import type { Message } from "@bufbuild/protobuf";
import {
  childScope,
  newRequestId,
  RaceEntry,
  remainingMs,
  runInContext,
  timerSlotsFor,
  type CallScope,
  type Clock,
  type Logger,
  type PlexusError,
  type TraceParent,
  type UnaryRequest,
  type UnaryResponse,
} from "@plexus/core";
import { deadlineExceeded } from "./abort.ts";
import { toWireError } from "./wire-error.ts";
import type { MethodEntry } from "./method-table.ts";
import { toFetchHeaders } from "./incoming-headers.ts";
import type { IncomingHeaders, PropagatedContext } from "./propagation.ts";

/** A call's entry in the timer slot of its deadline: the slot cancels the call when it fires. */
class DeadlineEntry extends RaceEntry {
  constructor(call: ServerCall) {
    super();
    this.reject = (reason) => call.cancel(reason as PlexusError);
  }
}

/**
 * The server side of one unary call, shared by the network handler and the in-process transport
 * so both derive the same context and enforce the same deadline and abort semantics: the call
 * settles exactly once, with the handler's answer or with the deadline/cancellation, whichever
 * comes first; a late handler answer is dropped, and the handler's signal tells it to stop.
 *
 * Its context is a cancellable core call scope: the deadline is enforced by a shared timer slot
 * (the call is an entry of it, not the owner of a timer), and the handler's signal is created
 * only if the handler (or a child call) reads it.
 */
export abstract class ServerCall {
  readonly context: CallScope;
  private deadlineEntry: DeadlineEntry | undefined = undefined;
  private readonly clock: Clock;
  protected readonly logger: Logger | undefined;
  private settled = false;
  /** The caller's span, for server interceptors (`UnaryRequest.parentTrace`). */
  private readonly parentTrace: TraceParent | undefined;

  constructor(
    clock: Clock,
    logger: Logger | undefined,
    propagated: PropagatedContext,
    deadline: number | undefined,
  ) {
    this.clock = clock;
    this.logger = logger;
    this.parentTrace = propagated.trace;
    this.context = childScope(propagated, {
      deadline,
      requestId: newRequestId(),
      caller: propagated.caller,
      cancellable: true,
      clock,
    });
    if (deadline !== undefined) {
      const now = clock.now();
      // A past deadline joins no slot: `start` (or the owner, via `deadlinePassed`) fails fast.
      if (deadline > now) {
        this.deadlineEntry = new DeadlineEntry(this);
        timerSlotsFor(clock, 1).slotFor(deadline, now).add(this.deadlineEntry);
      }
    }
  }

  /** Whether the call already has its answer (or its failure). */
  get isSettled(): boolean {
    return this.settled;
  }

  /** Whether the deadline has passed; no handler may start after it. */
  deadlinePassed(): boolean {
    return remainingMs(this.context, this.clock) <= 0;
  }

  /**
   * Runs the handler through the interceptor chain, unless the call is over or out of time. The
   * incoming metadata is given raw: it becomes the request's `Headers` only if something reads
   * it (building a `Headers` costs microseconds per call that most handlers never need).
   */
  start(entry: MethodEntry, message: Message, rawHeaders: IncomingHeaders): void {
    if (this.settled) return;
    if (this.deadlinePassed()) {
      this.cancel(deadlineExceeded());
      return;
    }
    let header: Headers | undefined;
    void this.invoke(entry, {
      method: entry.method,
      message,
      context: this.context,
      parentTrace: this.parentTrace,
      // An own, enumerable accessor: `{ ...request }` in an interceptor still copies it.
      get header(): Headers {
        return (header ??= toFetchHeaders(rawHeaders));
      },
    });
  }

  private async invoke(entry: MethodEntry, request: UnaryRequest): Promise<void> {
    let response: UnaryResponse;
    try {
      response = await runInContext(request.context, () => entry.invoke(request));
    } catch (error) {
      if (!this.settle()) return;
      this.fail(toWireError(error, this.logger));
      return;
    }
    if (this.settle()) this.reply(response);
  }

  /**
   * Ends the call early (deadline passed, caller gone): aborts the handler's signal with `reason`
   * and answers `answer` (by default the reason itself).
   */
  cancel(reason: PlexusError, answer: PlexusError = reason): void {
    if (!this.settle()) return;
    this.context.cancel(reason);
    this.fail(answer);
  }

  /** Fails the call before any handler runs (malformed request). */
  reject(error: PlexusError): void {
    if (this.settle()) this.fail(error);
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    const entry = this.deadlineEntry;
    entry?.linkedTo?.remove(entry);
    this.context.release();
    return true;
  }

  /** Delivers the handler's answer; called at most once, and never together with `fail`. */
  protected abstract reply(response: UnaryResponse): void;
  /** Delivers the failure; called at most once, and never together with `reply`. */
  protected abstract fail(error: PlexusError): void;
}
