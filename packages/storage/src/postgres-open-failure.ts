import { StartupError } from "@plexus/core";
import { sqlStateOf } from "./unique-violation.ts";

/**
 * Why Postgres could not be opened, as a {@link StartupError} saying what to change: the server
 * is down or unknown, too slow to answer, refused the login, or has no such database.
 *
 * @param where The URL without its password.
 */
export function postgresOpenFailure(
  error: unknown,
  where: string,
  database: string,
  connectTimeoutMs: number,
): StartupError {
  const options = { cause: error };
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const sqlState = sqlStateOf(error);
  // One line, whatever the driver said.
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ");
  const otherServer = "or set DATABASE_URL to a server that is running";
  if (code === "ECONNREFUSED" || code === "ECONNRESET" || code === "EHOSTUNREACH") {
    return new StartupError(
      `cannot reach Postgres at ${where} (${code === "ECONNREFUSED" ? "connection refused" : code})`,
      `start it, ${otherServer}`,
      options,
    );
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new StartupError(
      `cannot reach Postgres at ${where} (unknown host)`,
      "correct the host in DATABASE_URL",
      options,
    );
  }
  if (/timeout/i.test(message)) {
    return new StartupError(
      `Postgres at ${where} did not answer within ${connectTimeoutMs} ms`,
      `check that it runs and is reachable from here, ${otherServer}`,
      options,
    );
  }
  if (sqlState === "28P01" || sqlState === "28000") {
    return new StartupError(
      `Postgres at ${where} refused the login (${message})`,
      "correct the user and password in DATABASE_URL",
      options,
    );
  }
  if (sqlState === "3D000") {
    return new StartupError(
      `Postgres at ${where} has no database "${database}"`,
      `create it (createdb ${database}), or set DATABASE_URL to an existing database`,
      options,
    );
  }
  return new StartupError(
    `cannot use Postgres at ${where} (${message})`,
    "check DATABASE_URL and the server's log",
    options,
  );
}
