import { clone } from "@bufbuild/protobuf";
import {
  Code,
  PlexusError,
  systemClock,
  type Clock,
  type RpcInterceptor,
  type Logger,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@plexus/core";
import { abortReason, canceledByClient, neverAborted } from "./abort.ts";
import { wireCopy } from "./wire-error.ts";
import { createMethodTable, type MethodEntry, type ServiceBinding } from "./method-table.ts";
import {
  headerCorrelationId,
  headerRequestId,
  readContextHeaders,
  writeContextHeaders,
  type PropagatedContext,
} from "./propagation.ts";
import { ServerCall } from "./server-call.ts";
import { serviceLogger } from "./service-logger.ts";

export interface InProcessTransportOptions {
  /** The services hosted in this process that calls may reach. */
  services: readonly ServiceBinding[];
  /**
   * Server-side interceptors, exactly as the host's network server would run them (auth,
   * concurrency limits, metrics), so a call behaves the same in and out of process. Default: none.
   */
  interceptors?: readonly RpcInterceptor[];
  /** Time source for deadlines. Default: `systemClock`. */
  clock?: Clock;
  /** Where unexpected handler failures are logged. Default: not logged. */
  logger?: Logger;
  /** The name of the service (or host) answering, stamped on its log lines. Default: none. */
  serviceName?: string;
}

type Settle = (response: UnaryResponse) => void;
type Reject = (error: PlexusError) => void;

class InProcessCall extends ServerCall {
  private readonly entry: MethodEntry;
  private readonly resolve: Settle;
  private readonly rejectCall: Reject;
  private readonly signal: AbortSignal;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    clock: Clock,
    logger: Logger | undefined,
    propagated: PropagatedContext,
    request: UnaryRequest,
    entry: MethodEntry,
    resolve: Settle,
    reject: Reject,
  ) {
    super(clock, logger, propagated, request.context.deadline);
    this.entry = entry;
    this.resolve = resolve;
    this.rejectCall = reject;
    // The caller's scope carries its cancellation; reading it builds it only if needed.
    this.signal = request.context.signal ?? neverAborted;
    if (this.signal !== neverAborted) {
      // What a network server sees when its client disconnects: the handler is canceled; the
      // caller gets the error its own signal stands for (deadline or cancellation).
      this.onAbort = () => this.cancel(canceledByClient(), abortReason(this.signal));
      this.signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  private release(): void {
    if (this.onAbort !== undefined) this.signal.removeEventListener("abort", this.onAbort);
  }

  protected reply(response: UnaryResponse): void {
    this.release();
    let message;
    try {
      // By copy: the caller and the handler never share a mutable object.
      message = clone(this.entry.method.output, response.message);
    } catch (error) {
      this.logger?.error({ err: error }, "failed to copy a response");
      this.rejectCall(new PlexusError(Code.Internal, "internal error"));
      return;
    }
    const { requestId, correlationId } = this.context;
    const handlerHeader = response.header;
    let header: Headers | undefined;
    this.resolve({
      message,
      // Built on first read, like the network transport's response headers.
      get header(): Headers {
        if (header === undefined) {
          header = new Headers(handlerHeader);
          header.set(headerRequestId, requestId);
          header.set(headerCorrelationId, correlationId);
        }
        return header;
      },
    });
  }

  protected fail(error: PlexusError): void {
    this.release();
    this.rejectCall(wireCopy(error));
  }
}

/**
 * A Transport to services hosted in the same process. It runs the same server-side pipeline as
 * the network path — the same interceptors, the same context derivation (same correlation id,
 * new request id, child span, deadline, principal), the same fail-fast and abort-on-deadline
 * semantics — and passes messages and errors by copy, so moving a service out of process changes
 * nothing a caller or a handler can observe (except speed).
 *
 * @example
 * const transport = createInProcessTransport({ services: [bindService(CatalogService, handlers)] });
 * const catalog = createClient(CatalogService, transport);
 */
export function createInProcessTransport(options: InProcessTransportOptions): Transport {
  const table = createMethodTable(options.services, options.interceptors ?? []);
  const clock = options.clock ?? systemClock;
  const logger = serviceLogger(options.logger, options.serviceName);

  return {
    unary(request: UnaryRequest): Promise<UnaryResponse> {
      const entry = table.byMethod(request.method);
      if (entry === undefined) {
        return Promise.reject(new PlexusError(Code.Unimplemented, "no such method"));
      }
      const signal = request.context.signal;
      if (signal?.aborted === true) return Promise.reject(abortReason(signal));
      // The metadata a network call would carry, read back the way a server reads it.
      const raw: Record<string, string> = {};
      for (const [name, value] of request.header) raw[name] = value;
      writeContextHeaders(request.context, raw);
      const propagated = readContextHeaders(raw);
      if (propagated instanceof PlexusError) return Promise.reject(wireCopy(propagated));

      return new Promise<UnaryResponse>((resolve, reject) => {
        // `start` refuses a call already past its deadline: the one check on the server side.
        const call = new InProcessCall(clock, logger, propagated, request, entry, resolve, reject);
        let message;
        try {
          message = clone(entry.method.input, request.message);
        } catch {
          call.reject(new PlexusError(Code.InvalidArgument, "malformed request message"));
          return;
        }
        call.start(entry, message, raw);
      });
    },
  };
}
