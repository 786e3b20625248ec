import type { Server } from "node:http";
import { StartupError } from "@plexus/core";

/** Which settings chose an address, so a failure to bind it can say what to change. */
export interface ListenSettings {
  /** The setting that chose the port, e.g. `PORT`. */
  readonly portSetting: string;
  /** The setting that chose the interface, e.g. `PLEXUS_HOST`. */
  readonly hostSetting: string;
}

/**
 * Turns a failure to bind `host:port` into a {@link StartupError} saying which setting to change;
 * other errors are returned as they are.
 */
export function listenFailure(
  error: unknown,
  port: number,
  host: string,
  settings: ListenSettings,
): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const options = { cause: error };
  switch (code) {
    case "EADDRINUSE":
      return new StartupError(
        `port ${port} is in use`,
        `set ${settings.portSetting} to a free port or stop the process using it`,
        options,
      );
    case "EACCES":
      return new StartupError(
        `not allowed to listen on port ${port}`,
        `set ${settings.portSetting} to a port above 1023, or grant this process the right to bind it`,
        options,
      );
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new StartupError(
        `cannot listen on ${host}: no such address on this machine`,
        `set ${settings.hostSetting} to one of this machine's addresses (127.0.0.1, 0.0.0.0)`,
        options,
      );
    default:
      return error instanceof Error ? error : new Error(String(error));
  }
}

/** Listens on `host:port`; a port in use (and the like) rejects with a {@link StartupError}. */
export function listen(
  server: Server,
  port: number,
  hostname: string,
  settings: ListenSettings,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(listenFailure(error, port, hostname, settings));
    server.once("error", onError);
    server.listen(port, hostname, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** Stops accepting, closes idle keep-alive connections, resolves when in-flight requests are done. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}
