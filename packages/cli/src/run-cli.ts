import { dlq } from "./dlq.ts";

const usage = `usage: plexus <command>

commands:
  up <topology.ts>   start every host of a topology (one process per host; a single-host
                     topology runs in this process) and stop them gracefully on SIGTERM/SIGINT
  dlq <subcommand>   list, show, replay or discard the dead letters of a running host's
                     services (plexus dlq --help)
`;

/** Runs the `plexus` command; resolves to the process exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "up": {
      const [file] = rest;
      if (!file || rest.length !== 1) {
        process.stderr.write(usage);
        return 2;
      }
      // Loaded on demand: the host (storage, brokers, telemetry) is no part of the other commands.
      const { up } = await import("./up.ts");
      return up(file);
    }
    case "dlq":
      return dlq(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(usage);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`plexus: unknown command "${command}"\n${usage}`);
      return 2;
  }
}
