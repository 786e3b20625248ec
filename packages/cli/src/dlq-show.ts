import type { DlqOne } from "./dlq-args.ts";
import {
  deadLettersPath,
  jsonText,
  type DeadLetterView,
  type DlqContext,
} from "./dead-letter-view.ts";
import { printable, table } from "./terminal-text.ts";

/**
 * `plexus dlq show <service> <id>`: one dead letter, its fields then the event it holds (or the
 * payload as received, when its envelope was malformed).
 */
export async function dlqShow({ client, stdout }: DlqContext, command: DlqOne): Promise<void> {
  const path = deadLettersPath(command.service, command.id);
  const letter = (await client.call("GET", path)) as DeadLetterView;
  if (command.json) {
    stdout.write(jsonText(letter));
    return;
  }
  const fields: [string, string][] = [
    ["id", letter.id],
    ["group", letter.group],
    ["event type", letter.eventType ?? "(malformed envelope)"],
    ["event id", letter.eventId ?? ""],
    ["attempts", String(letter.attempts)],
    ["first failed", letter.firstFailedAt],
    ["last failed", letter.lastFailedAt],
    ["error", letter.error],
  ];
  stdout.write(table(fields));
  const held = letter.event === undefined ? (letter.raw ?? "") : jsonText(letter.event);
  const heading = letter.event === undefined ? "payload as received" : "event";
  const body = held.split("\n").map(printable).join("\n");
  stdout.write(`\n${heading}:\n${body}${body.endsWith("\n") ? "" : "\n"}`);
}
