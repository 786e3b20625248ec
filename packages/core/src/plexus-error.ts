import { Code } from "./code.ts";

/** A violation of one field's rule, as API.md's `details` shows it (`items[0].quantity`). */
export interface FieldViolation {
  readonly field: string;
  readonly message: string;
}

export interface PlexusErrorOptions {
  /** The underlying error, kept for logs; never serialised to a client. */
  cause?: unknown;
  /**
   * The public, UPPER_SNAKE reason (API.md's `error.code`, e.g. `EMAIL_EXISTS`). Defaults to the
   * code's own public name in the HTTP mapping table.
   */
  reason?: string;
  /** Field violations, for validation failures. */
  details?: readonly FieldViolation[];
  /** Metadata safe to show a client (e.g. `retryAfterMs`). */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * The one error type of Plexus: a gRPC code, a message safe to show a client, an optional public
 * reason and field details. Everything that crosses a boundary is normalised to it with
 * {@link PlexusError.from}.
 *
 * @example
 * throw new PlexusError(Code.NotFound, "user not found", { reason: "USER_NOT_FOUND" });
 */
export class PlexusError extends Error {
  override readonly name = "PlexusError";
  readonly code: Code;
  readonly reason: string | undefined;
  readonly details: readonly FieldViolation[];
  readonly metadata: Readonly<Record<string, string>>;

  constructor(code: Code, message: string, options: PlexusErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.reason = options.reason;
    this.details = options.details ?? [];
    this.metadata = options.metadata ?? {};
  }

  /**
   * Normalises anything thrown into a PlexusError. Unknown errors become `Unknown` with a generic
   * message, so internals (SQL, paths, stack traces) never reach a client; the original is kept
   * as `cause` for logs. An aborted operation becomes `Canceled`, or `DeadlineExceeded` when the
   * abort reason says so.
   */
  static from(error: unknown, fallback: Code = Code.Unknown): PlexusError {
    if (error instanceof PlexusError) return error;
    if (isAbortError(error)) {
      const reason = (error as { cause?: unknown }).cause;
      if (reason instanceof PlexusError) return reason;
      if ((error as Error).name === "TimeoutError") {
        return new PlexusError(Code.DeadlineExceeded, "deadline exceeded", { cause: error });
      }
      return new PlexusError(Code.Canceled, "operation canceled", { cause: error });
    }
    return new PlexusError(fallback, "internal error", { cause: error });
  }
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError");
}

/** Shorthand for a validation failure: `InvalidArgument` + `VALIDATION_ERROR` + field details. */
export function validationError(
  details: readonly FieldViolation[],
  message = "validation failed",
): PlexusError {
  return new PlexusError(Code.InvalidArgument, message, { reason: "VALIDATION_ERROR", details });
}
