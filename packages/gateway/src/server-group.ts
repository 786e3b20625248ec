import { createServer, type RequestListener, type Server, type ServerOptions } from "node:http";
import type { AddressInfo } from "node:net";
import type { ClientErrorHandler } from "./client-error.ts";

export interface ListenOptions {
  /** Default 0 (an ephemeral port; read it from the result). */
  port?: number;
  /** Default all interfaces. */
  host?: string;
  /** Passed to `http.createServer` (e.g. `maxHeaderSize`). */
  server?: ServerOptions;
}

export interface Listening {
  readonly server: Server;
  readonly port: number;
  /** `http://127.0.0.1:<port>` or `http://<host>:<port>`. */
  readonly url: string;
}

export interface ServerGroupOptions {
  /** How long `close()` waits for in-flight requests (`GatewayOptions.drainTimeoutMs`). */
  readonly drainTimeoutMs: number;
}

/**
 * The servers a gateway listens on, and its in-flight request count: together they make the
 * graceful stop (refuse new connections, let running requests finish, then cut the rest).
 */
export interface ServerGroup {
  /** Set by `close` and `destroy`: readiness answers 503 and responses carry `Connection: close`. */
  readonly draining: boolean;
  /** Counts a request as in flight until {@link requestFinished}. */
  requestStarted(): void;
  requestFinished(): void;
  /** Creates a node:http server with sensible timeouts, starts it and adds it to the group. */
  listen(
    listener: RequestListener,
    onClientError: ClientErrorHandler,
    options: ListenOptions,
  ): Promise<Listening>;
  /** Drains: stops accepting, waits for in-flight requests (bounded), then closes connections. */
  close(): Promise<void>;
  /** Closes every connection at once. */
  destroy(): void;
}

export function createServerGroup(options: ServerGroupOptions): ServerGroup {
  const servers = new Set<Server>();
  let inflight = 0;
  let draining = false;
  let drained: (() => void) | undefined;

  async function listen(
    listener: RequestListener,
    onClientError: ClientErrorHandler,
    listenOptions: ListenOptions,
  ): Promise<Listening> {
    const server = createServer(
      {
        // Slow-loris guards; generous next to route timeouts (10 s by default).
        requestTimeout: 30_000,
        headersTimeout: 10_000,
        keepAliveTimeout: 5_000,
        ...listenOptions.server,
      },
      listener,
    );
    server.on("clientError", onClientError);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(listenOptions.port ?? 0, listenOptions.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    servers.add(server);
    const { port } = server.address() as AddressInfo;
    const host = listenOptions.host ?? "127.0.0.1";
    // A wildcard address is reached on loopback (checked first: "::" is an IPv6 literal too).
    const urlHost =
      host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
    return { server, port, url: `http://${urlHost}:${port}` };
  }

  async function close(): Promise<void> {
    draining = true;
    const closing = [...servers].map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        }),
    );
    if (inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.drainTimeoutMs);
        timer.unref();
        drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const server of servers) server.closeAllConnections();
    await Promise.all(closing);
    servers.clear();
  }

  function destroy(): void {
    draining = true;
    for (const server of servers) {
      server.close();
      server.closeAllConnections();
    }
    servers.clear();
  }

  return {
    get draining() {
      return draining;
    },
    requestStarted() {
      inflight++;
    },
    requestFinished() {
      inflight--;
      if (draining && inflight === 0) drained?.();
    },
    listen,
    close,
    destroy,
  };
}
