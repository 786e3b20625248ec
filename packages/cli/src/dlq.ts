import type { Settings } from "@plexus/core";
import { createAdminClient } from "./admin-client.ts";
import { parseDlqArgs, type DlqCommand } from "./dlq-args.ts";
import { dlqDiscard } from "./dlq-discard.ts";
import { dlqList } from "./dlq-list.ts";
import { dlqReplay } from "./dlq-replay.ts";
import { dlqShow } from "./dlq-show.ts";
import type { DlqContext } from "./dead-letter-view.ts";
import { reportFailure } from "./report-failure.ts";

export const dlqUsage = `usage: plexus dlq <subcommand> [--url URL] [--json]

Dead letters of a running host's services, through its admin API (/_plexus/api/).

subcommands:
  list <service> [--limit N] [--cursor ID]
                            the service's dead letters, oldest first, N a page (1-1000,
                            default 100); --cursor ID lists those after ID, the last of a page
  show <service> <id>       one dead letter: where, why, how often it failed, and its event
  replay <service> <id>     hand the event to its group's handler again; handled, it is removed
  discard <service> <id>    drop the dead letter without handling its event

options:
  --url URL   the host's address (its edge serves the admin API); default
              http://$PLEXUS_HOST:$PORT, as the host listens (127.0.0.1, 8080)
  --json      print the admin API's data as JSON instead of a table

environment:
  PLEXUS_ADMIN_TOKEN   the admin token the host runs with (required)

exit codes: 0 done, 1 the host refused or could not be reached (one line says why), 2 usage
`;

export interface DlqIo {
  readonly env: Settings;
  readonly stdout: Pick<NodeJS.WritableStream, "write">;
  readonly stderr: Pick<NodeJS.WritableStream, "write">;
}

function run(context: DlqContext, command: Exclude<DlqCommand, { kind: "help" }>): Promise<void> {
  switch (command.kind) {
    case "list":
      return dlqList(context, command);
    case "show":
      return dlqShow(context, command);
    case "replay":
      return dlqReplay(context, command);
    case "discard":
      return dlqDiscard(context, command);
  }
}

/** `plexus dlq …`; resolves to the exit code. */
export async function dlq(argv: readonly string[], io: DlqIo = process): Promise<number> {
  const parsed = parseDlqArgs(argv);
  if (!parsed.ok) {
    io.stderr.write(`plexus dlq: ${parsed.problem}\n\n${dlqUsage}`);
    return 2;
  }
  const { command } = parsed;
  if (command.kind === "help") {
    io.stdout.write(dlqUsage);
    return 0;
  }
  try {
    const client = createAdminClient({ url: command.url, env: io.env });
    await run({ client, stdout: io.stdout }, command);
    return 0;
  } catch (error) {
    return reportFailure(error, `dlq ${command.kind} failed`, io.stderr);
  }
}
