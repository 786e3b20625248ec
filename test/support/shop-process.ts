import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { createDataDir, dataEnv } from "./shop-data.ts";

export { createDataDir, dataEnv, removeDataDir } from "./shop-data.ts";

const root = resolve(import.meta.dirname, "../..");

export interface ShopProcess {
  readonly url: string;
  /** The Connect endpoint of the hosted services, when started with `PLEXUS_RPC_PORT`. */
  readonly rpcUrl: string | undefined;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Log lines printed so far (JSON lines from pino, parsed when possible). */
  readonly logs: string[];
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * `env` for suites that sign up or log in more often than one client may: every e2e request comes
 * from 127.0.0.1, and the shop allows one client 10 of those a minute, 5 at once
 * (`PLEXUS_CREDENTIAL_RATE_LIMIT`, `PLEXUS_CREDENTIAL_RATE_BURST`). credential-limit.test.ts
 * proves the default; a suite with fewer than 5 credential requests runs with it.
 */
export const manySignUpsEnv: Readonly<Record<string, string>> = {
  PLEXUS_CREDENTIAL_RATE_LIMIT: "100000",
  PLEXUS_CREDENTIAL_RATE_BURST: "100000",
};

export interface StartShopOptions {
  /**
   * Reuse a shop's data (restart tests, a second process on the same data): its data directory
   * and, on Postgres, the database bound to it. Default: fresh data ({@link createDataDir}).
   */
  dataDir?: string;
  env?: Record<string, string>;
  /**
   * How long to wait for the "edge listening" line. Default: 100 000 ms, under the e2e projects'
   * hook timeout (vitest.config.ts) so a start that hangs fails with the shop's logs: a busy
   * machine slows a start many times over, most of all one that runs PGlite's initdb (a fresh
   * data directory while no template cluster is cached, packages/storage's pglite-template.ts).
   */
  startTimeoutMs?: number;
}

/**
 * Starts the shop exactly as `npm start` does (`plexus up apps/shop/topology/monolith.ts`) in a
 * child process on a free port, and resolves once the edge listens. Its storage is the run's
 * (`PLEXUS_E2E_STORAGE`, see shop-data.ts): the embedded PGlite under the data directory, or a Postgres database of
 * its own (`DATABASE_URL`), created with the data and dropped by `removeDataDir(shop.dataDir)`.
 */
export async function startShop(options: StartShopOptions = {}): Promise<ShopProcess> {
  const dataDir = options.dataDir ?? (await createDataDir());
  const child = spawn(
    join(root, "node_modules/.bin/plexus"),
    ["up", "apps/shop/topology/monolith.ts"],
    {
      cwd: root,
      env: {
        ...withoutDatabaseUrl(process.env),
        PATH: `${join(root, "node_modules/.bin")}:${process.env["PATH"] ?? ""}`,
        PORT: "0",
        ...(await dataEnv(dataDir)),
        PLEXUS_LOG_LEVEL: "info",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const logs: string[] = [];
  let rpcUrl: string | undefined;
  const exited = new Promise<number | string>((resolveExit) => {
    child.once("exit", (code, signal) => resolveExit(code ?? signal ?? -1));
  });
  // A shop outlives no test file: not one whose start timed out, nor one a failed or timed-out
  // hook never got to stop. The test worker takes it along when it ends (vitest ends a fork
  // with SIGTERM, which skips "exit" listeners).
  const killChild = (): void => void child.kill("SIGKILL");
  process.once("exit", killChild);
  process.once("SIGTERM", killChild);
  void exited.then(() => {
    process.off("exit", killChild);
    process.off("SIGTERM", killChild);
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`shop did not start:\n${logs.join("\n")}`));
    }, options.startTimeoutMs ?? 100_000);
    const onLine = (line: string): void => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === "rpc listening") rpcUrl = entry.url;
        if (entry.msg === "edge listening" && entry.url) {
          clearTimeout(timer);
          resolveUrl(entry.url);
        }
      } catch {
        // not JSON: kept in logs for diagnostics
      }
    };
    createInterface({ input: child.stdout }).on("line", onLine);
    createInterface({ input: child.stderr }).on("line", onLine);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`shop exited (${code}) before listening:\n${logs.join("\n")}`));
    });
  });
  return {
    url,
    rpcUrl,
    dataDir,
    child,
    logs,
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The test runner's environment minus a `DATABASE_URL` of its own: the run's storage decides. */
function withoutDatabaseUrl(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DATABASE_URL: _ignored, ...rest } = env;
  return rest;
}
