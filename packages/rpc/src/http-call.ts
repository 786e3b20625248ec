import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { gunzip } from "node:zlib";
import { Code, PlexusError, type Clock, type Logger, type UnaryResponse } from "@plexus/core";
import { canceledByClient, deadlineExceeded } from "./abort.ts";
import { decodeMessage, encodeMessage, type Codec } from "./message-codec.ts";
import type { MethodEntry } from "./method-table.ts";
import type { IncomingHeaders, PropagatedContext } from "./propagation.ts";
import { ServerCall } from "./server-call.ts";

/** The parts of a Node response both HTTP versions share, which is all the protocols use. */
export interface Res {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  end(body?: Uint8Array): unknown;
  end(body: string, encoding: "latin1"): unknown;
  once(event: "close", listener: (this: Res) => void): unknown;
}

const kCall = Symbol("plexus.httpCall");

/** The parts of a Node request both HTTP versions share. */
export interface Req {
  readonly method?: string | undefined;
  readonly url: string;
  readonly headers: IncomingHeaders;
  [kCall]?: HttpCall;
  on(event: "data", listener: (this: Req, chunk: Buffer) => void): this;
  on(event: "end", listener: (this: Req) => void): this;
  on(event: "error", listener: (this: Req, error: Error) => void): this;
  resume(): unknown;
}

interface ResWithCall extends Res {
  [kCall]?: HttpCall;
}

/** What every call on the port is configured with. */
export interface HttpCallOptions {
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  /** Largest request message accepted, in bytes (after decompression). */
  readonly maxBodyBytes: number;
}

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}

/**
 * A unary call on a Node HTTP request, whatever the protocol: the one path from request bytes
 * to the handler and back — decompress (bounded), decode in the call's codec, run the handler
 * (`ServerCall.start`: deadline, context, validation, interceptors), encode the answer. A
 * protocol subclass says how the body frames the message (`push`, `complete`) and how answers
 * and failures are written (`reply`, `fail`).
 */
export abstract class HttpCall extends ServerCall {
  protected readonly res: Res;
  protected readonly entry: MethodEntry;
  protected readonly codec: Codec;
  protected readonly maxBodyBytes: number;
  private readonly rawHeaders: IncomingHeaders;

  constructor(
    res: Res,
    entry: MethodEntry,
    codec: Codec,
    rawHeaders: IncomingHeaders,
    options: HttpCallOptions,
    propagated: PropagatedContext,
    deadline: number | undefined,
  ) {
    super(options.clock, options.logger, propagated, deadline);
    this.res = res;
    this.entry = entry;
    this.codec = codec;
    this.rawHeaders = rawHeaders;
    this.maxBodyBytes = options.maxBodyBytes;
  }

  /** A chunk of the request body arrived. */
  abstract push(chunk: Buffer): void;
  /** The request body ended. */
  abstract complete(): void;

  /** One request message's bytes, gzip-compressed or not: decoded, then handed to the handler. */
  protected receive(bytes: Buffer, gzip: boolean): void {
    if (!gzip) {
      this.decode(bytes);
      return;
    }
    gunzip(bytes, { maxOutputLength: this.maxBodyBytes }, (error, inflated) => {
      if (error === null) this.decode(inflated);
      else if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
        this.reject(tooLarge(this.maxBodyBytes));
      else this.reject(new PlexusError(Code.InvalidArgument, "malformed gzip request body"));
    });
  }

  private decode(bytes: Buffer): void {
    let message;
    try {
      message = decodeMessage(this.codec, this.entry.method.input, bytes);
    } catch (error) {
      this.reject(
        new PlexusError(
          Code.InvalidArgument,
          `malformed ${this.codec} request body: ${errorMessage(error)}`,
        ),
      );
      return;
    }
    this.start(this.entry, message, this.rawHeaders);
  }

  /**
   * The answer's message in the call's codec; `undefined` when it cannot be encoded, after
   * logging why and failing the call with `internal`.
   */
  protected encodeResponse(response: UnaryResponse): Uint8Array | undefined {
    try {
      return encodeMessage(this.codec, this.entry.method.output, response.message);
    } catch (error) {
      this.logger?.error({ err: error }, "failed to encode a response");
      this.fail(new PlexusError(Code.Internal, "internal error"));
      return undefined;
    }
  }
}

export function tooLarge(max: number): PlexusError {
  return new PlexusError(Code.ResourceExhausted, `request body larger than ${max} bytes`);
}

export function isHttp1(res: Res): boolean {
  return (res as { stream?: unknown }).stream === undefined;
}

/** HTTP/1.1 only: do not keep a connection whose unread body we refuse to drain. */
export function closeAfterResponse(res: Res): void {
  const h1 = res as Partial<ServerResponse>;
  if (typeof h1.setHeader === "function" && isHttp1(res)) h1.setHeader("connection", "close");
}

function onBodyData(this: Req, chunk: Buffer): void {
  this[kCall]!.push(chunk);
}

function onBodyEnd(this: Req): void {
  this[kCall]!.complete();
}

function onRequestError(this: Req): void {
  this[kCall]!.cancel(canceledByClient());
}

function onResponseClose(this: ResWithCall): void {
  // `close` also follows a normal `finish`; only an unsettled call means the client left early.
  const call = this[kCall];
  if (call !== undefined && !call.isSettled) call.cancel(canceledByClient());
}

/**
 * Every protocol's last step of accepting a call: a request already known bad (`invalid`) or
 * out of time is answered at once without reading its body; any other gets its body read into
 * the call, and a client that goes away cancels it.
 */
export function beginCall(
  req: Req,
  res: Res,
  call: HttpCall,
  invalid: PlexusError | undefined,
): void {
  if (invalid !== undefined) {
    if (invalid.code === Code.ResourceExhausted) closeAfterResponse(res);
    call.reject(invalid);
    req.resume();
    return;
  }
  if (call.deadlinePassed()) {
    // Already out of time on arrival: answer now, never start the handler.
    call.cancel(deadlineExceeded());
    req.resume();
    return;
  }
  req[kCall] = call;
  (res as ResWithCall)[kCall] = call;
  res.once("close", onResponseClose);
  req.on("data", onBodyData).on("end", onBodyEnd).on("error", onRequestError);
}
