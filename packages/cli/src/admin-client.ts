import { portSetting, type Settings } from "@plexus/core";
import { CommandFailure, oneLine } from "./report-failure.ts";

/** An error answer of the admin API (API.md's error shape). */
export interface AdminError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly requestId: string | undefined;
}

/** What to tell the operator to do about an error answer; undefined: the general advice. */
export type FixFor = (error: AdminError) => string | undefined;

/** Calls the admin API of one running host, as `plexus dlq` does. */
export interface AdminClient {
  /** Where the admin API is (the host's edge). */
  readonly baseUrl: URL;
  /** Sends one request; resolves with the answer's `data`, or rejects with a CommandFailure. */
  call(method: string, path: string, fixFor?: FixFor): Promise<unknown>;
}

export interface AdminClientOptions {
  /** `--url`; without it, `PLEXUS_HOST` and `PORT` as the host reads them. */
  readonly url: URL | undefined;
  /** `PLEXUS_ADMIN_TOKEN`, `PLEXUS_HOST`, `PORT`. */
  readonly env: Settings;
  /** Bound of one request. Default 30 s: a replay runs the handler. */
  readonly timeoutMs?: number;
}

/** Addresses a host binds to that are not one to connect to: the loopback reaches it. */
const anyAddress: Readonly<Record<string, string>> = { "0.0.0.0": "127.0.0.1", "::": "::1" };

/**
 * The host's edge address, which serves the admin API: `--url`, else what the host itself
 * listens on, `PLEXUS_HOST` (default 127.0.0.1) and `PORT` (default 8080).
 */
export function adminBaseUrl(url: URL | undefined, env: Settings): URL {
  if (url) return url;
  const port = portSetting(env, "PORT") ?? 8080;
  if (port === 0) {
    throw new CommandFailure("PORT=0 names no port to reach", "pass the host's address as --url");
  }
  const configured = env["PLEXUS_HOST"]?.trim() || "127.0.0.1";
  const host = anyAddress[configured] ?? configured;
  return new URL(`http://${host.includes(":") ? `[${host}]` : host}:${port}`);
}

const tokenFix = "set PLEXUS_ADMIN_TOKEN to the admin token the host runs with";

/** The general advice for an error answer, when the command has none of its own. */
function generalFix(error: AdminError): string {
  switch (error.status) {
    case 401:
      return tokenFix;
    case 404:
      return "check the service name and the id (plexus dlq list <service>); a host without PLEXUS_ADMIN_TOKEN has no admin API";
    case 422:
      return "check the arguments (plexus dlq --help)";
    default:
      return error.status >= 500
        ? `see the host's log${error.requestId ? ` for request ${error.requestId}` : ""}, then try again`
        : "see plexus dlq --help";
  }
}

function errorOf(status: number, body: unknown): AdminError | undefined {
  const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
  if (typeof error?.["code"] !== "string") return undefined;
  return {
    status,
    code: error["code"],
    message: typeof error["message"] === "string" ? error["message"] : "",
    requestId: typeof error["requestId"] === "string" ? error["requestId"] : undefined,
  };
}

function unreachable(baseUrl: URL, error: unknown, timeoutMs: number): CommandFailure {
  if ((error as Error).name === "TimeoutError") {
    return new CommandFailure(
      `no answer from the admin API at ${baseUrl.origin} within ${timeoutMs / 1000} s`,
      "check that the host is running and not overloaded, then try again",
      { cause: error },
    );
  }
  const cause = (error as { cause?: { code?: string } }).cause;
  return new CommandFailure(
    `cannot reach the admin API at ${baseUrl.origin}${cause?.code ? ` (${cause.code})` : ""}`,
    "start the host (plexus up), or point --url (else PLEXUS_HOST and PORT) at it",
    { cause: error },
  );
}

/**
 * Creates the client of one host's admin API. A missing `PLEXUS_ADMIN_TOKEN` or a bad `PORT` fails
 * here, before any request.
 */
export function createAdminClient(options: AdminClientOptions): AdminClient {
  const baseUrl = adminBaseUrl(options.url, options.env);
  const token = options.env["PLEXUS_ADMIN_TOKEN"]?.trim();
  if (!token) throw new CommandFailure("no admin token", tokenFix);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const headers = { authorization: `Bearer ${token}`, accept: "application/json" };
  return {
    baseUrl,
    async call(method, path, fixFor) {
      let status: number;
      let text: string;
      try {
        const signal = AbortSignal.timeout(timeoutMs);
        const reply = await fetch(new URL(path, baseUrl), { method, headers, signal });
        status = reply.status;
        text = await reply.text();
      } catch (error) {
        throw unreachable(baseUrl, error, timeoutMs);
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (status >= 200 && status < 300 && body !== null && typeof body === "object") {
        if ("data" in body) return body.data;
      }
      const error = errorOf(status, body);
      if (!error) {
        throw new CommandFailure(
          `${baseUrl.origin} answered ${status} without the admin API's JSON`,
          "check that --url (else PLEXUS_HOST and PORT) points at a Plexus host",
        );
      }
      throw new CommandFailure(
        `${oneLine(error.message)} (${status} ${error.code})`,
        fixFor?.(error) ?? generalFix(error),
      );
    },
  };
}
