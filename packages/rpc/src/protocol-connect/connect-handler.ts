import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { gunzip } from "node:zlib";
import {
  fromBinary,
  fromJsonString,
  toBinary,
  toJsonString,
  type DescMessage,
  type Message,
} from "@bufbuild/protobuf";
import {
  Code,
  newRequestId,
  PlexusError,
  systemClock,
  type Clock,
  type RpcInterceptor,
  type Logger,
  type UnaryResponse,
} from "@plexus/core";
import {
  acceptPost,
  connectHttpStatus,
  contentTypeJson,
  contentTypeProto,
  headerContentEncoding,
  headerContentLength,
  headerContentType,
  headerProtocolVersion,
  headerTimeout,
  parseContentType,
  parseTimeoutMs,
  protocolVersion,
  type Codec,
} from "./connect-protocol.ts";
import { encodeConnectError } from "./connect-error.ts";
import { createMethodTable, type MethodEntry, type ServiceBinding } from "../method-table.ts";
import {
  firstHeaderValue,
  headerCorrelationId,
  headerRequestId,
  readContextHeaders,
  type IncomingHeaders,
  type PropagatedContext,
} from "../propagation.ts";
import { canceledByClient, deadlineExceeded } from "../abort.ts";
import { authenticateCaller } from "../authenticate-caller.ts";
import type { ServiceAuthenticator } from "../service-authenticator.ts";
import { writePushbackHeaders } from "./pushback-headers.ts";
import { ServerCall } from "../server-call.ts";
import { serviceLogger } from "../service-logger.ts";

/** A request as both `node:http` and `node:http2` (compatibility API) deliver it. */
export type ConnectRequest = IncomingMessage | Http2ServerRequest;
/** A response as both `node:http` and `node:http2` (compatibility API) deliver it. */
export type ConnectResponse = ServerResponse | Http2ServerResponse;
/** A request listener for `http.createServer` and `http2.createServer` alike. */
export type ConnectRequestListener = (req: ConnectRequest, res: ConnectResponse) => void;

export interface ConnectHandlerOptions {
  /** The services to serve. Each unary method is routed at `POST /<package.Service>/<Method>`. */
  services: readonly ServiceBinding[];
  /**
   * Server-side interceptors around every handler, first listed runs outermost (auth, concurrency
   * limits, metrics). Default: none.
   */
  interceptors?: readonly RpcInterceptor[];
  /** Time source for deadlines. Default: `systemClock`; tests inject a fake one. */
  clock?: Clock;
  /**
   * Where unexpected handler failures are logged (with their cause, which never reaches the
   * client). Default: not logged.
   */
  logger?: Logger;
  /**
   * Largest request body accepted, in bytes (after decompression). Default 4 MiB, like Connect's
   * own servers: a bound on the memory one call can pin; larger bodies get `resource_exhausted`.
   */
  maxBodyBytes?: number;
  /**
   * The name of the service (or host) answering, stamped on its log lines so per-(caller, callee)
   * bookkeeping can pair it with the caller's `x-plexus-caller`. Default: none.
   */
  serviceName?: string;
  /**
   * Called for paths that are no RPC method (health checks, metrics on the same port). Default:
   * none, such paths get a Connect `unimplemented` error with HTTP 404.
   */
  fallback?: ConnectRequestListener;
  /**
   * Verifies the calling service's token (`createServiceAuthenticator`, ADR 13): a call without
   * a valid one is answered `unauthenticated` before anything else is read, and the caller the
   * handler sees is the token's, not `x-plexus-caller`. Default: none, every caller and its
   * principal headers are trusted (only for a server no one else can reach).
   */
  authenticator?: ServiceAuthenticator;
}

/** The parts of a Node response both HTTP versions share, which is all this handler uses. */
interface Res {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  end(body?: Uint8Array): unknown;
  end(body: string, encoding: "latin1"): unknown;
  once(event: "close", listener: (this: Res) => void): unknown;
}

const kCall = Symbol("plexus.connectCall");

interface Req {
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

const defaultMaxBodyBytes = 4 * 1024 * 1024;
const noContext: PropagatedContext = {
  correlationId: undefined,
  trace: undefined,
  principal: undefined,
  idempotencyKey: undefined,
  caller: undefined,
};

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}

/** A Connect call on a Node HTTP response: the body is buffered, then the handler runs. */
class HttpCall extends ServerCall {
  private readonly res: Res;
  private readonly entry: MethodEntry;
  private readonly codec: Codec;
  private readonly maxBodyBytes: number;
  private readonly gzip: boolean;
  private readonly rawHeaders: IncomingHeaders;
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    res: Res,
    entry: MethodEntry,
    codec: Codec,
    rawHeaders: IncomingHeaders,
    gzip: boolean,
    options: { clock: Clock; logger: Logger | undefined; maxBodyBytes: number },
    propagated: PropagatedContext,
    deadline: number | undefined,
  ) {
    super(options.clock, options.logger, propagated, deadline);
    this.res = res;
    this.entry = entry;
    this.codec = codec;
    this.rawHeaders = rawHeaders;
    this.gzip = gzip;
    this.maxBodyBytes = options.maxBodyBytes;
  }

  push(chunk: Buffer): void {
    if (this.isSettled) return;
    this.size += chunk.length;
    if (this.size > this.maxBodyBytes) {
      this.chunks = [];
      closeAfterResponse(this.res);
      this.reject(tooLarge(this.maxBodyBytes));
      return;
    }
    this.chunks.push(chunk);
  }

  complete(): void {
    if (this.isSettled) return;
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    if (this.gzip) {
      gunzip(body, { maxOutputLength: this.maxBodyBytes }, (error, inflated) => {
        if (error === null) this.decode(inflated);
        else if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
          this.reject(tooLarge(this.maxBodyBytes));
        else this.reject(new PlexusError(Code.InvalidArgument, "malformed gzip request body"));
      });
      return;
    }
    this.decode(body);
  }

  private decode(body: Buffer): void {
    const schema: DescMessage = this.entry.method.input;
    let message: Message;
    try {
      message =
        this.codec === "proto"
          ? fromBinary(schema, body)
          : fromJsonString(schema, body.toString("utf8"), { ignoreUnknownFields: true });
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

  protected reply(response: UnaryResponse): void {
    const res = this.res;
    if (res.writableEnded || res.destroyed) return;
    const schema = this.entry.method.output;
    let body: Uint8Array;
    try {
      body =
        this.codec === "proto"
          ? toBinary(schema, response.message)
          : Buffer.from(toJsonString(schema, response.message));
    } catch (error) {
      this.logger?.error({ err: error }, "failed to encode a response");
      this.fail(new PlexusError(Code.Internal, "internal error"));
      return;
    }
    const headers: OutgoingHttpHeaders = {
      [headerContentType]: this.codec === "proto" ? contentTypeProto : contentTypeJson,
      [headerContentLength]: body.byteLength,
      [headerRequestId]: this.context.requestId,
      [headerCorrelationId]: this.context.correlationId,
    };
    for (const [name, value] of response.header) headers[name] = value;
    res.writeHead(200, headers);
    if (body.byteLength <= singleWriteMaxBytes && isHttp1(res)) {
      // Node sends a string body in one write with the head; a byte body takes a second
      // buffer and a `writev`, which on a small answer costs more than this latin1 copy.
      res.end(latin1(body), "latin1");
      return;
    }
    res.end(body);
  }

  protected fail(error: PlexusError): void {
    const res = this.res;
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    const body = encodeConnectError(error);
    const headers: OutgoingHttpHeaders = {
      [headerContentType]: contentTypeJson,
      [headerContentLength]: body.byteLength,
      [headerRequestId]: this.context.requestId,
      [headerCorrelationId]: this.context.correlationId,
    };
    writePushbackHeaders(error, headers);
    res.writeHead(connectHttpStatus(error.code), headers);
    res.end(body);
  }
}

/** Answers up to this size go out in the same write as the head (see `HttpCall.reply`). */
const singleWriteMaxBytes = 16 * 1024;

function isHttp1(res: Res): boolean {
  return (res as { stream?: unknown }).stream === undefined;
}

/** The bytes as a latin1 string: one character per byte, so it writes back byte for byte. */
function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

function tooLarge(max: number): PlexusError {
  return new PlexusError(Code.ResourceExhausted, `request body larger than ${max} bytes`);
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

/** Answers without a call (no route, wrong method, wrong media type). */
function answer(res: Res, status: number, headers: OutgoingHttpHeaders, error?: PlexusError): void {
  headers[headerRequestId] = newRequestId();
  if (error === undefined) {
    headers[headerContentLength] = 0;
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const body = encodeConnectError(error);
  headers[headerContentType] = contentTypeJson;
  headers[headerContentLength] = body.byteLength;
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * A Node request listener that serves unary calls with the Connect protocol: `POST
 * /<package.Service>/<Method>`, `application/proto` or `application/json` bodies,
 * `Connect-Timeout-Ms` deadlines, Connect error JSON with the standard HTTP status mapping (and
 * an error's `retryAfterMs` as `grpc-retry-pushback-ms` and `Retry-After`). Works for
 * `http.createServer` and `http2.createServer` alike. Each handler runs inside its
 * CallContext (correlation id, new request id, child span, deadline, principal) with a signal that
 * aborts when the deadline passes or the client goes away.
 *
 * @example
 * const server = http.createServer(
 *   createConnectHandler({ services: [bindService(UsersService, usersHandlers)] }),
 * );
 */
export function createConnectHandler(options: ConnectHandlerOptions): ConnectRequestListener {
  const table = createMethodTable(options.services, options.interceptors ?? []);
  const clock = options.clock ?? systemClock;
  const logger = serviceLogger(options.logger, options.serviceName);
  const callOptions = {
    clock,
    logger,
    maxBodyBytes: options.maxBodyBytes ?? defaultMaxBodyBytes,
  };
  const fallback = options.fallback;
  const authenticator = options.authenticator;

  return function handleConnectRequest(request: ConnectRequest, response: ConnectResponse): void {
    const req = request as unknown as Req;
    const res = response as unknown as ResWithCall;
    const url = req.url;
    const query = url.indexOf("?");
    const entry = table.byPath(query === -1 ? url : url.slice(0, query));
    if (entry === undefined) {
      if (fallback !== undefined) {
        fallback(request, response);
        return;
      }
      answer(res, 404, {}, new PlexusError(Code.Unimplemented, "no such method"));
      req.resume();
      return;
    }
    if (req.method !== "POST") {
      answer(res, 405, { allow: "POST" });
      req.resume();
      return;
    }
    const headers = req.headers;
    let caller: string | undefined;
    if (authenticator !== undefined) {
      const identity = authenticateCaller(authenticator, headers, entry.method);
      if (identity instanceof PlexusError) {
        answer(res, connectHttpStatus(identity.code), {}, identity);
        req.resume();
        return;
      }
      caller = identity;
    }
    const codec = parseContentType(firstHeaderValue(headers[headerContentType]));
    if (codec === undefined) {
      answer(res, 415, { "accept-post": acceptPost });
      req.resume();
      return;
    }
    const encoding = firstHeaderValue(headers[headerContentEncoding]);
    const gzip = encoding === "gzip";
    if (!gzip && encoding !== undefined && encoding !== "identity") {
      // Connect says `unimplemented`; 415 (RFC 9110's status for an unsupported content coding)
      // keeps a client's mistake out of the 5xx class.
      answer(
        res,
        415,
        { "accept-encoding": "gzip, identity" },
        new PlexusError(Code.Unimplemented, "unsupported content-encoding"),
      );
      req.resume();
      return;
    }

    let invalid: PlexusError | undefined;
    const version = firstHeaderValue(headers[headerProtocolVersion]);
    if (version !== undefined && version !== protocolVersion) {
      invalid = new PlexusError(
        Code.InvalidArgument,
        `${headerProtocolVersion} must be "${protocolVersion}"`,
      );
    }
    const timeoutMs = parseTimeoutMs(firstHeaderValue(headers[headerTimeout]));
    if (timeoutMs === null) {
      invalid ??= new PlexusError(Code.InvalidArgument, `invalid ${headerTimeout} header`);
    }
    const contentLength = firstHeaderValue(headers[headerContentLength]);
    if (contentLength !== undefined && Number(contentLength) > callOptions.maxBodyBytes) {
      invalid ??= tooLarge(callOptions.maxBodyBytes);
    }
    let propagated = readContextHeaders(headers);
    if (propagated instanceof PlexusError) {
      invalid ??= propagated;
      propagated = noContext;
    }
    if (caller !== undefined) propagated = { ...propagated, caller };
    const deadline =
      typeof timeoutMs === "number" && invalid === undefined ? clock.now() + timeoutMs : undefined;

    const call = new HttpCall(res, entry, codec, headers, gzip, callOptions, propagated, deadline);
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
    res[kCall] = call;
    res.once("close", onResponseClose);
    req.on("data", onBodyData).on("end", onBodyEnd).on("error", onRequestError);
  };
}

/** HTTP/1.1 only: do not keep a connection whose unread body we refuse to drain. */
function closeAfterResponse(res: Res): void {
  const h1 = res as Partial<ServerResponse>;
  if (typeof h1.setHeader === "function" && (h1 as { stream?: unknown }).stream === undefined) {
    h1.setHeader("connection", "close");
  }
}
