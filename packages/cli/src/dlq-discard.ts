import type { DlqOne } from "./dlq-args.ts";
import { deadLettersPath, jsonText, type DlqContext } from "./dead-letter-view.ts";

/** `plexus dlq discard <service> <id>`: drops the dead letter; its event is never handled. */
export async function dlqDiscard({ client, stdout }: DlqContext, command: DlqOne): Promise<void> {
  const result = await client.call("DELETE", deadLettersPath(command.service, command.id));
  stdout.write(
    command.json ? jsonText(result) : `discarded dead letter ${command.id} of ${command.service}\n`,
  );
}
