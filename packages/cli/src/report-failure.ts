import { createLogger, OperatorError } from "@plexus/core";
import { printable } from "./terminal-text.ts";

/**
 * A `plexus` command that could not do its work, in the operator's terms: what went wrong
 * (`problem`) and what to do about it (`fix`), like `StartupError`, for commands that talk
 * to a running host rather than start one.
 */
export class CommandFailure extends OperatorError {
  override readonly name = "CommandFailure";
}

/**
 * Reports why a command failed as one line on stderr — `plexus: <problem>: <fix>` for an
 * {@link OperatorError} (a `StartupError`, a {@link CommandFailure}), else
 * `plexus: <failed>: <message>` — and returns the exit code (1). The stack goes to the log at debug level (`PLEXUS_LOG_LEVEL=debug`):
 * an operator reads the line, a developer asks for the rest.
 */
export function reportFailure(
  error: unknown,
  failed: string,
  stderr: Pick<NodeJS.WritableStream, "write"> = process.stderr,
): number {
  const line =
    error instanceof OperatorError
      ? `${oneLine(error.problem)}: ${oneLine(error.fix)}`
      : `${failed}: ${oneLine(error)} (PLEXUS_LOG_LEVEL=debug logs the stack)`;
  stderr.write(`plexus: ${line}\n`);
  try {
    createLogger({ name: "plexus" }).debug({ err: error }, failed);
  } catch {
    // No logger (e.g. PLEXUS_LOG_LEVEL itself is invalid): the line above said what to fix.
  }
  return 1;
}

/**
 * Text on one line, safe for a terminal: a host's message or an error's may hold newlines,
 * escape sequences (or be empty).
 */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return printable(message.replace(/\s+/g, " ").trim()) || "unknown error";
}
