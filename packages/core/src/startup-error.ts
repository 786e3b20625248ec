import { OperatorError } from "./operator-error.ts";

/**
 * A failure to start that an operator can fix: what is wrong (`problem`) and what to do about it
 * (`fix`). Thrown where the failure is understood (a setting read, a port bound, a server reached,
 * a data directory locked); `plexus up` prints it as one line, `plexus: <problem>: <fix>`, and
 * exits non-zero, without a stack trace (that goes to the debug log).
 *
 * @example
 * throw new StartupError("port 8080 is in use", "set PORT to a free port or stop the process using it");
 */
export class StartupError extends OperatorError {
  override readonly name = "StartupError";
}
