import { createLogger, StartupError } from "@plexus/core";

/**
 * Reports why `plexus up` could not start, as one line on stderr — `plexus: <problem>: <fix>` for
 * a {@link StartupError}, the error's message otherwise — and returns the exit code (1). The stack
 * goes to the log at debug level (`PLEXUS_LOG_LEVEL=debug`): an operator reads the line, a
 * developer asks for the rest.
 */
export function reportStartupFailure(
  error: unknown,
  stderr: Pick<NodeJS.WritableStream, "write"> = process.stderr,
): number {
  const line =
    error instanceof StartupError
      ? error.message
      : `cannot start: ${oneLine(error)} (PLEXUS_LOG_LEVEL=debug logs the stack)`;
  stderr.write(`plexus: ${line}\n`);
  try {
    createLogger({ name: "plexus" }).debug({ err: error }, "start-up failed");
  } catch {
    // No logger (e.g. PLEXUS_LOG_LEVEL itself is invalid): the line above said what to fix.
  }
  return 1;
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, " ").trim() || "unknown error";
}
