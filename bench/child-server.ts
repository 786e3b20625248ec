/**
 * The one way a bench suite runs a server in a process of its own (DESIGN.md "How we measure":
 * load generator and servers are separate processes): `node <script> [args]`, ready once it prints
 * one JSON line on stdout (its address), bounded in start and stop time, and killed by its PID when
 * the bench process exits, however the run ends. Its stdin is a pipe, so a server may also stop
 * when it closes (its parent went away).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface ChildServerOptions {
  /** What the server is, for errors. */
  readonly name: string;
  /** The script Node runs. */
  readonly script: string;
  readonly args?: readonly string[];
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * How long it may take to print its ready line. Default 60 000 ms: a bound for a hang, generous
   * as several servers start at once on a busy 2-core machine.
   */
  readonly startTimeoutMs?: number;
  /** How long it may take to stop gracefully before it is killed. Default 10 000 ms. */
  readonly stopTimeoutMs?: number;
}

export interface ChildServer<Ready> {
  readonly child: ChildProcess;
  /** The JSON line it printed once ready. */
  readonly ready: Ready;
  /** SIGTERM, then SIGKILL after the stop timeout; resolves once it exited. */
  stop(): Promise<void>;
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

export async function startChildServer<Ready>(
  options: ChildServerOptions,
): Promise<ChildServer<Ready>> {
  const { name } = options;
  const child = spawn(process.execPath, [options.script, ...(options.args ?? [])], {
    env: { ...process.env, ...options.env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const kill = (): void => {
    if (running(child)) child.kill("SIGKILL");
  };
  process.once("exit", kill);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  void exited.then(() => process.off("exit", kill));

  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`${name} server did not start within ${startTimeoutMs} ms`));
    }, startTimeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} server exited (${code ?? signal})`));
    });
    createInterface({ input: child.stdout }).once("line", (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as Ready);
      } catch {
        kill();
        reject(
          new Error(`${name} server printed ${JSON.stringify(line)}, not its JSON ready line`),
        );
      }
    });
  });

  return {
    child,
    ready,
    async stop() {
      if (!running(child)) return;
      child.kill("SIGTERM");
      const timer = setTimeout(kill, options.stopTimeoutMs ?? 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
