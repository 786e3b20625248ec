import type { AdminError } from "./admin-client.ts";
import type { DlqOne } from "./dlq-args.ts";
import { deadLettersPath, jsonText, type DlqContext } from "./dead-letter-view.ts";

/** What to do when the host would not, or could not, replay the dead letter. */
function replayFix(command: DlqOne): (error: AdminError) => string | undefined {
  return (error) => {
    if ([401, 404, 422].includes(error.status)) return undefined;
    if (error.code === "FAILED_PRECONDITION") {
      return `discard it (plexus dlq discard ${command.service} ${command.id}), or replay it on a host that runs its group`;
    }
    // The handler failed again: the entry stays, one attempt more (DeadLetterAdmin.replay).
    return `it stays a dead letter; fix what its error says, then replay it again or discard it`;
  };
}

/**
 * `plexus dlq replay <service> <id>`: the host hands the event to its group's handler again;
 * handled, it leaves the dead letters.
 */
export async function dlqReplay({ client, stdout }: DlqContext, command: DlqOne): Promise<void> {
  const path = `${deadLettersPath(command.service, command.id)}/replay`;
  const result = (await client.call("POST", path, replayFix(command))) as {
    outcome: "processed" | "duplicate";
  };
  if (command.json) {
    stdout.write(jsonText(result));
    return;
  }
  const outcome =
    result.outcome === "processed"
      ? "handled"
      : "its group had already handled the event; the dead letter is removed";
  stdout.write(`replayed dead letter ${command.id} of ${command.service}: ${outcome}\n`);
}
