import { defaultLimit, type DlqList } from "./dlq-args.ts";
import {
  deadLettersPath,
  jsonText,
  type DeadLetterView,
  type DlqContext,
} from "./dead-letter-view.ts";
import { table } from "./terminal-text.ts";

const errorWidth = 60;

const shortened = (text: string): string =>
  text.length > errorWidth ? `${text.slice(0, errorWidth - 1)}…` : text;

/**
 * `plexus dlq list <service>`: one page of the service's dead letters, oldest first, as a table
 * (or `--json`), and when the page is full, the command line of the next one.
 */
export async function dlqList({ client, stdout }: DlqContext, command: DlqList): Promise<void> {
  const query = new URLSearchParams({ limit: String(command.limit) });
  if (command.cursor !== undefined) query.set("after", command.cursor);
  const path = `${deadLettersPath(command.service)}?${query.toString()}`;
  const letters = (await client.call("GET", path)) as DeadLetterView[];
  if (command.json) {
    stdout.write(jsonText(letters));
    return;
  }
  if (letters.length === 0) {
    const after = command.cursor === undefined ? "" : ` after ${command.cursor}`;
    stdout.write(`no dead letters in ${command.service}${after}\n`);
    return;
  }
  stdout.write(
    table([
      ["ID", "GROUP", "EVENT TYPE", "EVENT ID", "ATTEMPTS", "LAST FAILED", "ERROR"],
      ...letters.map((l) => [
        l.id,
        l.group,
        l.eventType ?? "(malformed)",
        l.eventId ?? "",
        String(l.attempts),
        l.lastFailedAt,
        shortened(l.error),
      ]),
    ]),
  );
  if (letters.length === command.limit) {
    const limit = command.limit === defaultLimit ? "" : ` --limit ${command.limit}`;
    const next = letters[letters.length - 1]!.id;
    stdout.write(`more: plexus dlq list ${command.service}${limit} --cursor ${next}\n`);
  }
}
