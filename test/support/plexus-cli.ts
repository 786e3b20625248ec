import { execFile } from "node:child_process";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

/** How one run of the `plexus` command ended. */
export interface PlexusRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real `plexus` binary (node_modules/.bin/plexus, as an operator's shell would) with
 * `args` and `env` on top of this process's environment, and resolves when it exits. Bounded: a
 * command still running after `timeoutMs` is killed and resolves with its code (non-zero).
 */
export function runPlexus(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<PlexusRun> {
  return new Promise((done) => {
    execFile(
      join(root, "node_modules/.bin/plexus"),
      args,
      { cwd: root, env: { ...process.env, ...env }, timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}
