import type { OutgoingHttpHeaders } from "node:http";
import { Code, newRequestId, PlexusError } from "@plexus/core";
import { authenticateCaller } from "../authenticate-caller.ts";
import {
  noContext,
  propagatedContext,
  type CallSetup,
  type RpcRequest,
  type RpcRequestListener,
  type RpcResponse,
} from "../call-setup.ts";
import { beginCall, isHttp1, type Req, type Res } from "../http-call.ts";
import { firstHeaderValue, headerRequestId } from "../propagation.ts";
import { GrpcCall, writeGrpcError, type GrpcCompression } from "./grpc-call.ts";
import {
  acceptedEncodings,
  headerGrpcAcceptEncoding,
  headerGrpcEncoding,
  parseGrpcContentType,
  type GrpcContentType,
} from "./grpc-protocol.ts";
import { headerGrpcTimeout, parseGrpcTimeout } from "./grpc-timeout.ts";

const identity: GrpcCompression = { request: false, response: false };
const gzipOnly: GrpcCompression = { request: true, response: false };
const gzipBoth: GrpcCompression = { request: true, response: true };
const acceptsGzip = /(?:^|,)\s*gzip\s*(?:,|$)/;

/**
 * How a call's messages are compressed, or `undefined` for an encoding not served. Like grpc-go,
 * the answer is compressed the way the request was, if the client accepts that.
 */
function compressionOf(encoding: string | undefined, accept: string | undefined) {
  if (encoding === undefined || encoding === "identity") return identity;
  if (encoding !== "gzip") return undefined;
  return accept !== undefined && acceptsGzip.test(accept) ? gzipBoth : gzipOnly;
}

/** Answers a request that is not a gRPC call at all, in plain HTTP (gRPC's own rule for these). */
function answerHttp(res: Res, req: Req, status: number, headers: OutgoingHttpHeaders): void {
  headers[headerRequestId] = newRequestId();
  headers["content-length"] = 0;
  res.writeHead(status, headers);
  res.end();
  req.resume();
}

function refuse(res: Res, req: Req, type: GrpcContentType, error: PlexusError): void {
  writeGrpcError(res, type, error, { requestId: newRequestId(), correlationId: undefined });
  req.resume();
}

/**
 * The listener for gRPC (`application/grpc…`, HTTP/2) and gRPC-Web (`application/grpc-web…`,
 * HTTP/1.1 or HTTP/2) unary calls on a port's shared set-up: the same method table, interceptors,
 * service identity, validation and deadlines as Connect, other metadata (`grpc-timeout`,
 * `grpc-encoding`) and framing. Errors travel as gRPC statuses (HTTP 200): an unknown method is
 * `unimplemented`, a malformed frame or message `invalid_argument`, an oversized one
 * `resource_exhausted`. Only requests gRPC cannot answer as a call get a plain HTTP status: a
 * content type it does not serve (415), another method than POST (405), gRPC over HTTP/1.1 (505).
 */
export function grpcListener(setup: CallSetup): RpcRequestListener {
  const { table, clock, callOptions, authenticator } = setup;

  return function handleGrpcRequest(request: RpcRequest, response: RpcResponse): void {
    const req = request as unknown as Req;
    const res = response as unknown as Res;
    const headers = req.headers;
    const type = parseGrpcContentType(firstHeaderValue(headers["content-type"]));
    if (type === undefined) {
      answerHttp(res, req, 415, { "accept-post": "application/grpc, application/grpc-web" });
      return;
    }
    if (!type.web && isHttp1(res)) {
      answerHttp(res, req, 505, {});
      return;
    }
    if (req.method !== "POST") {
      answerHttp(res, req, 405, { allow: "POST" });
      return;
    }
    const entry = table.byUrl(req.url);
    if (entry === undefined) {
      refuse(res, req, type, new PlexusError(Code.Unimplemented, "no such method"));
      return;
    }
    let caller: string | undefined;
    if (authenticator !== undefined) {
      const identity = authenticateCaller(authenticator, headers, entry.method);
      if (identity instanceof PlexusError) {
        refuse(res, req, type, identity);
        return;
      }
      caller = identity;
    }
    const compression = compressionOf(
      firstHeaderValue(headers[headerGrpcEncoding]),
      firstHeaderValue(headers[headerGrpcAcceptEncoding]),
    );
    if (compression === undefined) {
      const error = new PlexusError(
        Code.Unimplemented,
        `unsupported ${headerGrpcEncoding}; accepted: ${acceptedEncodings}`,
      );
      refuse(res, req, type, error);
      return;
    }

    let invalid: PlexusError | undefined;
    const timeout = firstHeaderValue(headers[headerGrpcTimeout]);
    const timeoutMs = timeout === undefined ? undefined : parseGrpcTimeout(timeout);
    if (timeout !== undefined && timeoutMs === undefined) {
      invalid = new PlexusError(Code.InvalidArgument, `invalid ${headerGrpcTimeout} header`);
    }
    let propagated = propagatedContext(headers, caller);
    if (propagated instanceof PlexusError) {
      invalid ??= propagated;
      propagated = noContext;
    }
    const deadline =
      timeoutMs !== undefined && invalid === undefined ? clock.now() + timeoutMs : undefined;
    const call = new GrpcCall(
      res,
      entry,
      type,
      compression,
      headers,
      callOptions,
      propagated,
      deadline,
    );
    beginCall(req, res, call, invalid);
  };
}
