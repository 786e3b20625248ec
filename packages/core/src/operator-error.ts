/**
 * A failure an operator can fix, in their terms: what is wrong (`problem`) and what to do about it
 * (`fix`). The CLI prints it as one line, `plexus: <problem>: <fix>`, without a stack trace (that
 * goes to the debug log). {@link StartupError} is the one `plexus up` throws; commands that talk
 * to a running host throw their own kind.
 */
export class OperatorError extends Error {
  override readonly name: string = "OperatorError";
  readonly problem: string;
  readonly fix: string;

  constructor(problem: string, fix: string, options: { cause?: unknown } = {}) {
    super(`${problem}: ${fix}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.problem = problem;
    this.fix = fix;
  }
}
