import type { OutgoingHttpHeaders } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { gzip } from "node:zlib";
import { Code, PlexusError, type UnaryResponse } from "@plexus/core";
import {
  closeAfterResponse,
  HttpCall,
  isHttp1,
  type HttpCallOptions,
  type Res,
} from "../http-call.ts";
import type { MethodEntry } from "../method-table.ts";
import {
  headerCorrelationId,
  headerRequestId,
  type IncomingHeaders,
  type PropagatedContext,
} from "../propagation.ts";
import {
  encodeFrame,
  encodeTrailersFrame,
  flagCompressed,
  FrameReader,
  type Frame,
} from "./grpc-frame.ts";
import {
  acceptedEncodings,
  headerGrpcAcceptEncoding,
  headerGrpcEncoding,
  type GrpcContentType,
} from "./grpc-protocol.ts";
import { grpcErrorStatus, okStatus } from "./grpc-status.ts";

/** How a call's messages are compressed: the request's, and whether the answer is gzipped. */
export interface GrpcCompression {
  readonly request: boolean;
  readonly response: boolean;
}

/** gRPC-Web's trailers after every successful answer: the same bytes each time. */
const okTrailersFrame = encodeTrailersFrame(okStatus);

function malformed(what: string): PlexusError {
  return new PlexusError(Code.InvalidArgument, `malformed gRPC request: ${what}`);
}

/**
 * Writes a failed call's answer. gRPC: a trailers-only response (one HEADERS frame that ends the
 * stream, HTTP 200, the status in it), as grpc-js and every gRPC client expect an early error.
 * gRPC-Web: the status in a trailers frame, the body's only frame. Also used before a call
 * exists (no such method, unauthenticated), with a fresh request id.
 */
export function writeGrpcError(
  res: Res,
  type: GrpcContentType,
  error: PlexusError,
  ids: { requestId: string; correlationId: string | undefined },
): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const status = grpcErrorStatus(error);
  const headers: OutgoingHttpHeaders = {
    "content-type": type.responseType,
    [headerGrpcAcceptEncoding]: acceptedEncodings,
    [headerRequestId]: ids.requestId,
  };
  if (ids.correlationId !== undefined) headers[headerCorrelationId] = ids.correlationId;
  if (type.web) {
    const body = encodeTrailersFrame(status);
    headers["content-length"] = body.byteLength;
    res.writeHead(200, headers);
    res.end(body);
    return;
  }
  // The compatibility API would end the stream with a separate empty DATA frame; a gRPC client
  // reads headers that do not end the stream as the start of an answer, not as its status.
  const { stream } = res as unknown as Http2ServerResponse;
  // The compatibility response does not say when its stream is gone (the client reset it).
  if (stream.destroyed || stream.closed) return;
  Object.assign(headers, status);
  headers[":status"] = 200;
  stream.respond(headers, { endStream: true });
}

/**
 * A unary gRPC or gRPC-Web call: the body is a stream of length-prefixed frames of which a unary
 * call carries exactly one; each frame is compressed on its own (`grpc-encoding`). The answer is
 * one frame and the status: in HTTP/2 trailers (gRPC) or a trailers frame (gRPC-Web).
 */
export class GrpcCall extends HttpCall {
  private readonly type: GrpcContentType;
  private readonly compression: GrpcCompression;
  private readonly reader: FrameReader;
  private message: Frame | undefined;

  constructor(
    res: Res,
    entry: MethodEntry,
    type: GrpcContentType,
    compression: GrpcCompression,
    rawHeaders: IncomingHeaders,
    options: HttpCallOptions,
    propagated: PropagatedContext,
    deadline: number | undefined,
  ) {
    super(res, entry, type.codec, rawHeaders, options, propagated, deadline);
    this.type = type;
    this.compression = compression;
    this.reader = new FrameReader(options.maxBodyBytes);
  }

  push(chunk: Buffer): void {
    if (this.isSettled) return;
    const frames = this.reader.push(chunk);
    if (frames instanceof PlexusError) {
      closeAfterResponse(this.res);
      this.reject(frames);
      return;
    }
    for (const frame of frames) {
      if (this.message !== undefined) {
        this.reject(malformed("a unary call carries one request message"));
        return;
      }
      if ((frame.flags & flagCompressed) !== 0 && !this.compression.request) {
        this.reject(malformed(`a compressed message without ${headerGrpcEncoding}`));
        return;
      }
      this.message = frame;
    }
  }

  complete(): void {
    if (this.isSettled) return;
    if (this.reader.partial) {
      this.reject(malformed("the body ends inside a frame"));
      return;
    }
    const message = this.message;
    if (message === undefined) {
      this.reject(malformed("no request message"));
      return;
    }
    this.message = undefined;
    this.receive(message.payload, (message.flags & flagCompressed) !== 0);
  }

  protected reply(response: UnaryResponse): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    const bytes = this.encodeResponse(response);
    if (bytes === undefined) return;
    if (!this.compression.response) {
      this.write(response, encodeFrame(0, bytes), false);
      return;
    }
    gzip(bytes, (error, compressed) => {
      if (error === null) this.write(response, encodeFrame(flagCompressed, compressed), true);
      else this.write(response, encodeFrame(0, bytes), false);
    });
  }

  private write(response: UnaryResponse, frame: Buffer, gzipped: boolean): void {
    const res = this.res;
    if (res.writableEnded || res.destroyed) return;
    const headers: OutgoingHttpHeaders = {
      "content-type": this.type.responseType,
      [headerGrpcAcceptEncoding]: acceptedEncodings,
      [headerRequestId]: this.context.requestId,
      [headerCorrelationId]: this.context.correlationId,
    };
    if (gzipped) headers[headerGrpcEncoding] = "gzip";
    for (const [name, value] of response.header) headers[name] = value;
    if (this.type.web) {
      const body = Buffer.concat([frame, okTrailersFrame]);
      if (isHttp1(res)) headers["content-length"] = body.byteLength;
      res.writeHead(200, headers);
      res.end(body);
      return;
    }
    // Straight on the HTTP/2 stream: the compatibility API's `writeHead` re-validates every
    // header one by one and its `end` goes through a Writable, a tenth of the server's CPU per
    // call together (`node --cpu-prof`, ADR 22).
    const h2 = res as unknown as Http2ServerResponse;
    const { stream } = h2;
    if (stream.destroyed || stream.closed) return;
    headers[":status"] = 200;
    // The compatibility response sends its trailers once the stream asks for them.
    h2.addTrailers(okStatus);
    stream.respond(headers, { waitForTrailers: true });
    stream.end(frame);
  }

  protected fail(error: PlexusError): void {
    writeGrpcError(this.res, this.type, error, this.context);
  }
}
