import type { OutgoingHttpHeaders } from "node:http";
import { Code, newRequestId, PlexusError, type UnaryResponse } from "@plexus/core";
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
} from "./connect-protocol.ts";
import { encodeConnectError } from "./connect-error.ts";
import type { MethodEntry } from "../method-table.ts";
import {
  firstHeaderValue,
  headerCorrelationId,
  headerRequestId,
  type IncomingHeaders,
  type PropagatedContext,
} from "../propagation.ts";
import { authenticateCaller } from "../authenticate-caller.ts";
import { writePushbackHeaders } from "../pushback-headers.ts";
import {
  beginCall,
  closeAfterResponse,
  HttpCall,
  isHttp1,
  tooLarge,
  type HttpCallOptions,
  type Req,
  type Res,
} from "../http-call.ts";
import {
  createCallSetup,
  noContext,
  propagatedContext,
  type CallSetup,
  type RpcHandlerOptions,
  type RpcRequest,
  type RpcRequestListener,
  type RpcResponse,
} from "../call-setup.ts";
import type { Codec } from "../message-codec.ts";

/** A Connect call: the body is the whole message, gzip-compressed as a whole or not at all. */
class ConnectCall extends HttpCall {
  private readonly gzip: boolean;
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    res: Res,
    entry: MethodEntry,
    codec: Codec,
    rawHeaders: IncomingHeaders,
    gzip: boolean,
    options: HttpCallOptions,
    propagated: PropagatedContext,
    deadline: number | undefined,
  ) {
    super(res, entry, codec, rawHeaders, options, propagated, deadline);
    this.gzip = gzip;
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
    this.receive(body, this.gzip);
  }

  protected reply(response: UnaryResponse): void {
    const res = this.res;
    if (res.writableEnded || res.destroyed) return;
    const body = this.encodeResponse(response);
    if (body === undefined) return;
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

/** Answers up to this size go out in the same write as the head (see `ConnectCall.reply`). */
const singleWriteMaxBytes = 16 * 1024;

/** The bytes as a latin1 string: one character per byte, so it writes back byte for byte. */
function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
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
export function createConnectHandler(options: RpcHandlerOptions): RpcRequestListener {
  return connectListener(createCallSetup(options));
}

/** The Connect listener on a port's shared set-up (see `createRpcHandler`). */
export function connectListener(setup: CallSetup): RpcRequestListener {
  const { table, clock, callOptions, fallback, authenticator } = setup;

  return function handleConnectRequest(request: RpcRequest, response: RpcResponse): void {
    const req = request as unknown as Req;
    const res = response as unknown as Res;
    const entry = table.byUrl(req.url);
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
    let propagated = propagatedContext(headers, caller);
    if (propagated instanceof PlexusError) {
      invalid ??= propagated;
      propagated = noContext;
    }
    const deadline =
      typeof timeoutMs === "number" && invalid === undefined ? clock.now() + timeoutMs : undefined;
    const call = new ConnectCall(
      res,
      entry,
      codec,
      headers,
      gzip,
      callOptions,
      propagated,
      deadline,
    );
    beginCall(req, res, call, invalid);
  };
}
