import { toBinary, toJsonString } from "@bufbuild/protobuf";
import {
  Code,
  PlexusError,
  systemClock,
  type Clock,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@plexus/core";
import { Pool } from "undici";
import { abortReason, deadlineExceeded, neverAborted } from "../abort.ts";
import {
  codeFromConnectHttpStatus,
  contentTypeJson,
  contentTypeProto,
  headerContentType,
  headerProtocolVersion,
  headerTimeout,
  parseContentType,
  protocolVersion,
} from "./connect-protocol.ts";
import { decodeMessage, type Codec } from "../message-codec.ts";
import { decodeConnectError } from "./connect-error.ts";
import { methodPath } from "../method-path.ts";
import { writeContextHeaders } from "../propagation.ts";
import { withHeaderPushback } from "../pushback-headers.ts";
import type { ServiceCredentials } from "../service-credentials.ts";
import { headerServiceToken } from "../service-token.ts";

export interface NetworkTransportOptions {
  /**
   * Base URL of the service, e.g. `http://127.0.0.1:8081` (a path prefix is kept). Give this or
   * `resolve`.
   */
  baseUrl?: string;
  /**
   * Picks the base URL per call (service discovery and load balancing plug in here). Called
   * before every call; return quickly (cache, do not look up the registry per call).
   */
  resolve?: (request: UnaryRequest) => string | Promise<string>;
  /**
   * Body encoding. Default `proto`: smaller and several times faster to encode than JSON.
   * `json` is for debugging and for servers that only speak JSON.
   */
  codec?: Codec;
  /**
   * `1.1` (default): a pool of keep-alive connections per origin. `2`: HTTP/2 — cleartext with
   * prior knowledge (h2c) for `http:` URLs, ALPN for `https:` — multiplexing calls on one
   * connection per origin.
   */
  httpVersion?: "1.1" | "2";
  /**
   * Most HTTP/1.1 connections per origin. Default 128: enough concurrency for a busy caller,
   * bounded so a stalled callee cannot make the caller open sockets without limit.
   */
  connections?: number;
  /**
   * Idle time after which a keep-alive connection is closed. Default 4 000 ms, below Node
   * servers' 5 000 ms so the client, not the server, closes an idle connection (no request is
   * ever written to a connection the server is closing).
   */
  keepAliveTimeoutMs?: number;
  /** Time allowed to open a connection. Default 5 000 ms; a refused or timed-out one is `Unavailable`. */
  connectTimeoutMs?: number;
  /** Largest response body accepted. Default 4 MiB, matching the server's request limit. */
  maxResponseBytes?: number;
  /** Time source for `connect-timeout-ms` and for a `Retry-After` date. Default `systemClock`. */
  clock?: Clock;
  /**
   * The calling service's identity (`createServiceCredentials`, ADR 13): each call carries a
   * token from its caller to the callee's service in `x-plexus-service-token`, which a host's
   * RPC server requires. Default: none (for servers that authenticate no one).
   */
  credentials?: ServiceCredentials;
}

/** A Transport over the network, holding connection pools: close it when done. */
export interface NetworkTransport extends Transport, AsyncDisposable {
  /** Lets in-flight calls finish, then closes every connection. */
  close(): Promise<void>;
  /** Closes every connection now; in-flight calls fail with `Unavailable`. */
  destroy(): Promise<void>;
}

interface Target {
  readonly pool: Pool;
  /** The base URL's path, without a trailing slash, prepended to method paths. */
  readonly prefix: string;
}

/** Errors that mean "the callee could not be reached or dropped the connection". */
const unreachable = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
  "UND_ERR_CONNECT_TIMEOUT",
  "ERR_HTTP2_GOAWAY_SESSION",
  "ERR_HTTP2_STREAM_CANCEL",
  "ERR_HTTP2_STREAM_ERROR",
  "ERR_HTTP2_SESSION_ERROR",
  "ERR_HTTP2_INVALID_SESSION",
]);

function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return code;
  // Connection failures may arrive wrapped (AggregateError from happy eyeballs, a cause chain).
  return errorCode((error as { cause?: unknown }).cause);
}

/**
 * Maps a failure of the HTTP exchange itself to a PlexusError. Messages are generic on purpose:
 * they may reach a public edge, and must not name internal hosts; the cause keeps the detail.
 */
function transportError(error: unknown, signal: AbortSignal): PlexusError {
  if (signal.aborted) return abortReason(signal);
  const code = errorCode(error);
  if (code !== undefined && unreachable.has(code)) {
    return new PlexusError(Code.Unavailable, "service unavailable", { cause: error });
  }
  if (code === "UND_ERR_RES_EXCEEDED_MAX_SIZE") {
    return new PlexusError(Code.ResourceExhausted, "response too large", { cause: error });
  }
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return new PlexusError(Code.DeadlineExceeded, "deadline exceeded", { cause: error });
  }
  return new PlexusError(Code.Unavailable, "transport failure", { cause: error });
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined) continue;
    if (typeof value === "string") headers.append(name, value);
    else for (const v of value) headers.append(name, v);
  }
  return headers;
}

/**
 * Plexus's lean Connect client (unary): one undici Pool per origin with keep-alive, HTTP/1.1 or
 * HTTP/2 (h2c prior knowledge), `connect-timeout-ms` from the call's absolute deadline and the
 * context's propagation headers. A Connect error comes back as the PlexusError the server threw
 * (code, message, reason, field details); a non-Connect HTTP error maps by Connect's status
 * table; either carries the response's `grpc-retry-pushback-ms` or `Retry-After` as
 * `metadata.retryAfterMs`, so retries wait what the server asked; an unreachable callee is
 * `Unavailable`; an abort is `DeadlineExceeded` or `Canceled` after its reason.
 *
 * @example
 * const transport = createNetworkTransport({ baseUrl: "http://127.0.0.1:8081" });
 * const users = createClient(UsersService, transport, { caller: "orders" });
 */
export function createNetworkTransport(options: NetworkTransportOptions): NetworkTransport {
  const { baseUrl, resolve } = options;
  if ((baseUrl === undefined) === (resolve === undefined)) {
    throw new TypeError("createNetworkTransport: give exactly one of baseUrl and resolve");
  }
  const codec: Codec = options.codec ?? "proto";
  const contentType = codec === "proto" ? contentTypeProto : contentTypeJson;
  const clock = options.clock ?? systemClock;
  const h2 = options.httpVersion === "2";
  const credentials = options.credentials;
  const poolOptions: Pool.Options = {
    connections: options.connections ?? 128,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    maxResponseSize: options.maxResponseBytes ?? 4 * 1024 * 1024,
    // Deadlines bound calls; undici's own 300 s header/body timeouts would only mask a missing one.
    headersTimeout: 0,
    bodyTimeout: 0,
    allowH2: h2,
  };
  const pools = new Map<string, Pool>();
  const targets = new Map<string, Target>();
  let closed = false;

  function target(base: string): Target {
    let found = targets.get(base);
    if (found === undefined) {
      const url = new URL(base);
      let pool = pools.get(url.origin);
      if (pool === undefined) {
        pool = new Pool(url.origin, {
          ...poolOptions,
          ...(h2 && url.protocol === "http:" ? { useH2c: true } : {}),
        });
        pools.set(url.origin, pool);
      }
      found = { pool, prefix: url.pathname.replace(/\/+$/, "") };
      targets.set(base, found);
    }
    return found;
  }

  const fixed = baseUrl === undefined ? undefined : target(baseUrl);

  /** Discovery's failures (no instance, a bad URL) mean the callee cannot be reached. */
  async function resolveTarget(request: UnaryRequest): Promise<Target> {
    try {
      return target(await resolve!(request));
    } catch (error) {
      if (error instanceof PlexusError) throw error;
      throw new PlexusError(Code.Unavailable, "service unavailable", { cause: error });
    }
  }

  async function unary(request: UnaryRequest): Promise<UnaryResponse> {
    if (closed) throw new PlexusError(Code.Unavailable, "transport closed");
    const { method, context } = request;
    const signal = context.signal ?? neverAborted;
    let timeoutMs: number | undefined;
    if (context.deadline !== undefined) {
      timeoutMs = context.deadline - clock.now();
      if (timeoutMs <= 0) throw deadlineExceeded();
    }
    if (signal.aborted) throw abortReason(signal);
    const { pool, prefix } = fixed ?? (await resolveTarget(request));

    const headers: Record<string, string> = {};
    // Caller metadata first: the protocol's and the context's own headers win over it.
    for (const [name, value] of request.header) headers[name] = value;
    writeContextHeaders(context, headers);
    if (credentials !== undefined) {
      headers[headerServiceToken] = credentials.tokenFor(
        context.caller ?? credentials.service,
        method.parent.typeName,
      );
    }
    headers[headerContentType] = contentType;
    headers[headerProtocolVersion] = protocolVersion;
    if (timeoutMs !== undefined) headers[headerTimeout] = String(Math.floor(timeoutMs));
    const body =
      codec === "proto"
        ? toBinary(method.input, request.message)
        : toJsonString(method.input, request.message);

    let statusCode: number;
    let responseHeaders: Record<string, string | string[] | undefined>;
    let bytes: Uint8Array;
    try {
      const response = await pool.request({
        path: prefix + methodPath(method),
        method: "POST",
        headers,
        body,
        signal: signal === neverAborted ? undefined : signal,
      });
      statusCode = response.statusCode;
      responseHeaders = response.headers;
      bytes = await response.body.bytes();
    } catch (error) {
      throw transportError(error, signal);
    }

    const responseType = responseHeaders[headerContentType];
    const responseCodec = parseContentType(
      typeof responseType === "string" ? responseType : responseType?.[0],
    );
    if (statusCode !== 200) {
      const error =
        responseCodec === "json"
          ? decodeConnectError(statusCode, bytes)
          : new PlexusError(codeFromConnectHttpStatus(statusCode), `HTTP ${statusCode}`);
      throw withHeaderPushback(error, responseHeaders, clock.now());
    }
    if (responseCodec !== codec) {
      throw new PlexusError(
        responseCodec === undefined ? Code.Unknown : Code.Internal,
        "unexpected response content type",
      );
    }
    let message;
    try {
      message = decodeMessage(codec, method.output, bytes);
    } catch (error) {
      throw new PlexusError(Code.Internal, "malformed response body", { cause: error });
    }
    let header: Headers | undefined;
    return {
      message,
      // Built on first read: most callers never look at response metadata.
      get header(): Headers {
        return (header ??= toHeaders(responseHeaders));
      },
    };
  }

  async function close(): Promise<void> {
    closed = true;
    await Promise.all([...pools.values()].map((pool) => pool.close()));
  }

  async function destroy(): Promise<void> {
    closed = true;
    await Promise.all([...pools.values()].map((pool) => pool.destroy()));
  }

  return { unary, close, destroy, [Symbol.asyncDispose]: close };
}
