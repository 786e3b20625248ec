import { Code, PlexusError } from "@plexus/core";
import { sqlStateOf } from "./unique-violation.ts";

/**
 * What a client may be told about a value the database refused, by SQLSTATE: the kind of
 * problem, never the statement, the value or the column.
 */
const messages: Readonly<Record<string, string>> = {
  "22021": "a text value is not valid UTF-8 or contains a NUL character",
  "22P05": "a text value is not valid UTF-8 or contains a NUL character",
  "22001": "a value is too long",
  "22003": "a number is out of range",
  "22P02": "a value has the wrong format",
  "22007": "a date or time has the wrong format",
  "22008": "a date or time is out of range",
  "54000": "a value is too large to store",
};

/**
 * Turns an error the database raised because of a value it was given into `InvalidArgument`:
 * SQLSTATE class 22 (data_exception: invalid byte sequence, NUL, too long, out of range, bad
 * format…) and 54000 (program_limit_exceeded: a value too large for an index row or an array).
 * Such an error is the caller's, not the service's: as `Unknown` it would answer 500 and count
 * against the callee's circuit breaker, so that one client sending bad bytes could open it for
 * everybody. Any other error is returned unchanged. The original stays as `cause` (for logs and
 * SQLSTATE checks); the message holds no SQL, value or name.
 */
export function mapDataError(error: unknown): unknown {
  const state = sqlStateOf(error);
  if (state === undefined || error instanceof PlexusError) return error;
  if (!state.startsWith("22") && state !== "54000") return error;
  return new PlexusError(Code.InvalidArgument, messages[state] ?? "a value is not valid", {
    cause: error,
  });
}
