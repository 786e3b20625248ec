import type { Message } from "@bufbuild/protobuf";
import {
  childTraceparent,
  newCorrelationId,
  newRequestId,
  runInContext,
  type CallContext,
  type Clock,
  type Logger,
  type PlexusError,
  type TimerHandle,
  type TraceParent,
  type UnaryRequest,
  type UnaryResponse,
} from "@plexus/core";
import { deadlineExceeded, fanOutController } from "./abort.ts";
import { toWireError } from "./wire-error.ts";
import type { MethodEntry } from "./method-table.ts";
import { toFetchHeaders } from "./incoming-headers.ts";
import type { IncomingHeaders, PropagatedContext } from "./propagation.ts";

/**
 * The server side of one unary call, shared by the network handler and the in-process transport
 * so both derive the same context and enforce the same deadline and abort semantics: the call
 * settles exactly once, with the handler's answer or with the deadline/cancellation, whichever
 * comes first; a late handler answer is dropped, and the handler's signal tells it to stop.
 */
export abstract class ServerCall {
  readonly context: CallContext;
  private readonly controller: AbortController;
  private readonly clock: Clock;
  protected readonly logger: Logger | undefined;
  private timer: TimerHandle;
  private timed = false;
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
    this.controller = fanOutController();
    this.parentTrace = propagated.trace;
    this.context = {
      correlationId: propagated.correlationId ?? newCorrelationId(),
      requestId: newRequestId(),
      trace: childTraceparent(propagated.trace),
      deadline,
      principal: propagated.principal,
      idempotencyKey: propagated.idempotencyKey,
      caller: propagated.caller,
      signal: this.controller.signal,
    };
    if (deadline !== undefined) {
      const left = deadline - clock.now();
      // A past deadline arms no timer: `start` (or the owner, via `deadlinePassed`) fails fast.
      if (left > 0) {
        this.timer = clock.setTimeout(() => this.cancel(deadlineExceeded()), left);
        this.timed = true;
      }
    }
  }

  /** Whether the call already has its answer (or its failure). */
  get isSettled(): boolean {
    return this.settled;
  }

  /** Whether the deadline has passed; no handler may start after it. */
  deadlinePassed(): boolean {
    return this.context.deadline !== undefined && this.context.deadline <= this.clock.now();
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
      signal: this.controller.signal,
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
    this.controller.abort(reason);
    this.fail(answer);
  }

  /** Fails the call before any handler runs (malformed request). */
  reject(error: PlexusError): void {
    if (this.settle()) this.fail(error);
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timed) this.clock.clearTimeout(this.timer);
    return true;
  }

  /** Delivers the handler's answer; called at most once, and never together with `fail`. */
  protected abstract reply(response: UnaryResponse): void;
  /** Delivers the failure; called at most once, and never together with `reply`. */
  protected abstract fail(error: PlexusError): void;
}
