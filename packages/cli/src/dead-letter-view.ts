import type { AdminClient } from "./admin-client.ts";

/** A dead letter as the admin API answers it (`DeadLetter` of @plexus/messaging, as JSON). */
export interface DeadLetterView {
  readonly id: string;
  readonly group: string;
  readonly event?: unknown;
  readonly raw?: string;
  readonly eventId?: string;
  readonly eventType?: string;
  readonly error: string;
  readonly attempts: number;
  readonly firstFailedAt: string;
  readonly lastFailedAt: string;
}

/** What every `plexus dlq` command is given. */
export interface DlqContext {
  readonly client: AdminClient;
  readonly stdout: Pick<NodeJS.WritableStream, "write">;
}

/** The admin API's path of a service's dead letters, or of one of them. */
export function deadLettersPath(service: string, id?: string): string {
  const base = `/_plexus/api/dead-letters/${encodeURIComponent(service)}`;
  return id === undefined ? base : `${base}/${encodeURIComponent(id)}`;
}

/** `--json` output: the admin API's data, indented, one document per command. */
export function jsonText(data: unknown): string {
  return `${JSON.stringify(data, null, 2)}\n`;
}
