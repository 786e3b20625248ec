import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import {
  createServer as createHttp2Server,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { systemClock, type Clock } from "@plexus/core";
import type { RpcHandlerOptions, RpcRequest, RpcResponse } from "./call-setup.ts";
import { createRpcHandler } from "./rpc-handler.ts";

export interface RpcServerOptions extends RpcHandlerOptions {
  /** Interface to listen on. Default `127.0.0.1`: exposing a service is a deliberate choice. */
  host?: string;
  /** Port to listen on. Default 0 (an ephemeral port; read it back with `address()`). */
  port?: number;
  /**
   * How long `close()` lets in-flight calls finish before it forces the connections shut.
   * Default 10 000 ms: longer than a typical call deadline, shorter than an orchestrator's kill.
   */
  closeTimeoutMs?: number;
  /**
   * How long an idle HTTP/1.1 keep-alive connection stays open. Default 5 000 ms (Node's), above
   * the network transport's 4 000 ms client-side idle timeout so the client closes first and
   * never sends on a connection the server is closing.
   */
  keepAliveTimeoutMs?: number;
  /**
   * How long a new connection may stay silent before it is dropped (its first bytes decide
   * between HTTP/1.1 and HTTP/2). Default 10 000 ms.
   */
  idleFirstByteTimeoutMs?: number;
  /**
   * How long an HTTP/1.1 client may take to send a request's headers (slow-loris protection).
   * Default 60 000 ms (Node's). HTTP/2 sessions are bounded by HTTP/2's own flow control.
   */
  headersTimeoutMs?: number;
}

export interface RpcServer extends AsyncDisposable {
  /** The bound port and a base URL clients can use. */
  address(): { port: number; url: string };
  /**
   * Graceful stop: refuses new connections, lets in-flight calls finish (at most
   * `closeTimeoutMs`), closes idle keep-alive connections and sends GOAWAY on HTTP/2 sessions.
   */
  close(): Promise<void>;
  /** Forced stop: drops every connection now; in-flight handlers see their signal abort. */
  destroy(): Promise<void>;
}

/** The HTTP/2 connection preface starts with the method `PRI`, which no HTTP/1 request uses. */
const prefaceStart = Buffer.from("PRI");
const kPending = Symbol("plexus.pendingBytes");
const kHandedOff = Symbol("plexus.handedOff");
const kActive = Symbol("plexus.activeRequests");
const kSocket = Symbol("plexus.socket");

interface SniffedSocket extends Socket {
  [kPending]?: Buffer;
  [kHandedOff]?: boolean;
  /** HTTP/1.1 requests in progress on this connection; 0 means idle keep-alive. */
  [kActive]?: number;
}

interface TrackedResponse {
  [kSocket]?: SniffedSocket;
}

function noop(): void {}

function isHttp1Response(res: RpcResponse): res is ServerResponse {
  return (res as Partial<Http2ServerResponse>).stream === undefined;
}

/** Asks Node to close an HTTP/1.1 connection once its current response is written. */
function closeConnectionAfter(res: RpcResponse): void {
  if (isHttp1Response(res) && !res.headersSent) res.setHeader("connection", "close");
}

/**
 * An RPC server on one port that speaks both HTTP/1.1 (keep-alive) and HTTP/2 cleartext with
 * prior knowledge (h2c): each new connection is sniffed for the HTTP/2 preface and handed to the
 * matching Node server. Clients pick the HTTP version and the protocol (Connect, gRPC over h2c,
 * gRPC-Web; see `createRpcHandler`); nothing needs configuring.
 *
 * @example
 * await using server = await createRpcServer({ services: [bindService(UsersService, handlers)] });
 * const transport = createNetworkTransport({ baseUrl: server.address().url });
 */
export async function createRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const host = options.host ?? "127.0.0.1";
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  const idleFirstByteTimeoutMs = options.idleFirstByteTimeoutMs ?? 10_000;
  // Shutdown is bounded in real time, whatever clock the handlers' deadlines use.
  const clock: Clock = systemClock;
  const handler = createRpcHandler(options);

  const inFlight = new Set<RpcResponse>();
  const sockets = new Set<SniffedSocket>();
  const sessions = new Set<ServerHttp2Session>();
  let closing = false;
  let onDrained: (() => void) | undefined;

  function onResponseClose(this: RpcResponse & TrackedResponse): void {
    inFlight.delete(this);
    const socket = this[kSocket];
    if (socket !== undefined) {
      socket[kActive] = (socket[kActive] ?? 1) - 1;
      if (closing && socket[kActive] === 0) socket.end();
    }
    if (inFlight.size === 0) onDrained?.();
  }

  function onRequest(req: RpcRequest, res: RpcResponse & TrackedResponse): void {
    inFlight.add(res);
    if (isHttp1Response(res)) {
      // Node tracks idle connections only for servers it listens with itself; this one is fed
      // sockets, so it counts requests per connection to know which are idle.
      const socket = (req as IncomingMessage).socket as SniffedSocket;
      socket[kActive] = (socket[kActive] ?? 0) + 1;
      res[kSocket] = socket;
      if (closing) closeConnectionAfter(res);
    }
    res.once("close", onResponseClose);
    handler(req, res);
  }

  const headersTimeoutMs = options.headersTimeoutMs ?? 60_000;
  const http1 = createHttpServer(
    {
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
      headersTimeout: headersTimeoutMs,
      requestTimeout: Math.max(headersTimeoutMs, 300_000),
      connectionsCheckingInterval: Math.min(1_000, Math.max(10, headersTimeoutMs / 2)),
      noDelay: true,
    },
    onRequest,
  );
  // Node enforces headers/request timeouts only on connections it tracks, and starts tracking
  // when a server it listens with emits `listening`. This server is fed sockets instead, so it
  // gets the event by hand; `close()` stops the tracking timer (unref'd anyway).
  http1.emit("listening");
  const http2 = createHttp2Server({}, onRequest);
  http2.on("session", (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (closing) session.close();
  });

  function handOff(socket: SniffedSocket, bytes: Buffer): void {
    socket[kHandedOff] = true;
    socket.removeListener("data", onFirstBytes);
    socket.removeListener("timeout", onSilent);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(bytes);
    if (bytes.subarray(0, prefaceStart.length).equals(prefaceStart)) {
      // Node's HTTP/2 session reads what is already buffered on the socket before consuming it.
      http2.emit("connection", socket);
    } else {
      socket[kActive] = 0;
      http1.emit("connection", socket);
      socket.resume();
    }
  }

  function onFirstBytes(this: SniffedSocket, chunk: Buffer): void {
    const bytes = this[kPending] === undefined ? chunk : Buffer.concat([this[kPending], chunk]);
    this[kPending] = undefined;
    if (
      bytes.length < prefaceStart.length &&
      prefaceStart.subarray(0, bytes.length).equals(bytes)
    ) {
      this[kPending] = bytes;
      return;
    }
    handOff(this, bytes);
  }

  function onSilent(this: Socket): void {
    this.destroy();
  }

  const server = createNetServer({ noDelay: true }, (socket: SniffedSocket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    // Errors before and after the hand-off are the HTTP servers' to report, never a crash.
    socket.on("error", noop);
    if (closing) {
      socket.destroy();
      return;
    }
    socket.setTimeout(idleFirstByteTimeoutMs, onSilent);
    socket.on("data", onFirstBytes);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.removeListener("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost =
    host === "0.0.0.0"
      ? "127.0.0.1"
      : host === "::"
        ? "[::1]"
        : host.includes(":")
          ? `[${host}]`
          : host;
  const url = `http://${urlHost}:${port}`;

  const serverClosed = new Promise<void>((resolve) => server.once("close", resolve));

  /** Ends HTTP/1.1 connections with no request in progress (FIN after pending writes). */
  function endIdleConnections(): void {
    for (const socket of sockets) {
      if (socket[kActive] === 0) socket.end();
    }
  }

  function destroyAll(): void {
    for (const session of sessions) session.destroy();
    for (const socket of sockets) socket.destroy();
  }

  function finish(): void {
    http1.close(noop);
    http2.close(noop);
  }

  /** Resolves when `promise` settles or `ms` pass, whichever is first; says which. */
  function within(promise: Promise<void>, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = clock.setTimeout(() => resolve(false), Math.max(0, ms));
      void promise.then(() => {
        clock.clearTimeout(timer);
        resolve(true);
      });
    });
  }

  let closed: Promise<void> | undefined;

  function close(): Promise<void> {
    closed ??= (async () => {
      closing = true;
      const startedAt = clock.now();
      server.close();
      // Connections that never sent a byte belong to no server yet: nothing to drain.
      for (const socket of sockets) if (!socket[kHandedOff]) socket.destroy();
      for (const session of sessions) session.close();
      for (const res of inFlight) closeConnectionAfter(res);
      endIdleConnections();
      if (inFlight.size > 0) {
        const drained = new Promise<void>((resolve) => (onDrained = resolve));
        await within(drained, closeTimeoutMs);
      }
      endIdleConnections();
      const left = closeTimeoutMs - (clock.now() - startedAt);
      if (!(await within(serverClosed, left))) destroyAll();
      await serverClosed;
      finish();
    })();
    return closed;
  }

  async function destroy(): Promise<void> {
    closing = true;
    server.close();
    destroyAll();
    await serverClosed;
    finish();
  }

  return {
    address: () => ({ port, url }),
    close,
    destroy,
    [Symbol.asyncDispose]: close,
  };
}
