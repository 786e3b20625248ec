import { parseArgs } from "node:util";

/** Where and how a `plexus dlq` command talks to the host. */
export interface DlqTarget {
  /** `--url`: the host's edge address, which serves the admin API. Default: from the env. */
  readonly url: URL | undefined;
  /** `--json`: the admin API's data as JSON instead of a table. */
  readonly json: boolean;
}

/** `plexus dlq list <service> [--limit N] [--cursor C]`. */
export interface DlqList extends DlqTarget {
  readonly kind: "list";
  readonly service: string;
  readonly limit: number;
  /** Entries after this id (the last id of the previous page). */
  readonly cursor: string | undefined;
}

/** `plexus dlq show|replay|discard <service> <id>`. */
export interface DlqOne extends DlqTarget {
  readonly kind: "show" | "replay" | "discard";
  readonly service: string;
  readonly id: string;
}

export type DlqCommand = DlqList | DlqOne | { readonly kind: "help" };

/** A parsed command line, or what is wrong with it (the caller prints the usage: exit 2). */
export type DlqArgs =
  | { readonly ok: true; readonly command: DlqCommand }
  | { readonly ok: false; readonly problem: string };

/** A page when `--limit` is not given: the admin API's own default, said here so it is sent. */
export const defaultLimit = 100;
/** A dead letter id (and so a cursor): a store id, a positive decimal. */
const idPattern = /^[0-9]{1,19}$/;
const limitPattern = /^[0-9]{1,4}$/;
const subcommands: ReadonlySet<string> = new Set(["list", "show", "replay", "discard"]);
const isSubcommand = (kind: string): kind is Exclude<DlqCommand["kind"], "help"> =>
  subcommands.has(kind);

const options = {
  url: { type: "string" },
  json: { type: "boolean" },
  limit: { type: "string" },
  cursor: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const fail = (problem: string): DlqArgs => ({ ok: false, problem });

/** Node's parseArgs messages run on with advice about `--`; the first sentence says it. */
function firstSentence(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split(/\.\s/)[0]!.replace(/\.$/, "");
}

function parseUrl(raw: string | undefined): URL | undefined | string {
  if (raw === undefined) return undefined;
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    return `--url must be an http(s) URL, got ${JSON.stringify(raw)}`;
  }
  return url;
}

/**
 * Parses the arguments after `plexus dlq`. Never throws: a wrong command line is a `problem`.
 * Checks what can be checked here (counts, ids, `--limit` 1..1000, the URL) so a typo costs no
 * round trip; whether the service and the dead letter exist is the host's to say.
 */
export function parseDlqArgs(argv: readonly string[]): DlqArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    return fail(firstSentence(error));
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === "help") return { ok: true, command: { kind: "help" } };
  const [kind, ...rest] = positionals;
  const url = parseUrl(values.url);
  if (typeof url === "string") return fail(url);
  const target = { url, json: values.json ?? false };
  if (kind === undefined) return fail("missing a subcommand: list, show, replay or discard");
  if (!isSubcommand(kind)) return fail(`unknown subcommand ${JSON.stringify(kind)}`);
  if (kind !== "list" && (values.limit !== undefined || values.cursor !== undefined)) {
    return fail("--limit and --cursor apply to list only");
  }
  const [service, id, ...extra] = rest;
  if (service === undefined || service === "") return fail(`${kind} needs a service name`);
  switch (kind) {
    case "list": {
      if (id !== undefined) return fail(`list takes one service, got ${rest.length} arguments`);
      const limit = values.limit ?? String(defaultLimit);
      if (!limitPattern.test(limit) || Number(limit) < 1 || Number(limit) > 1000) {
        return fail(`--limit must be an integer from 1 to 1000, got ${JSON.stringify(limit)}`);
      }
      if (values.cursor !== undefined && !idPattern.test(values.cursor)) {
        return fail(`--cursor must be a dead letter id, got ${JSON.stringify(values.cursor)}`);
      }
      return {
        ok: true,
        command: { kind, service, limit: Number(limit), cursor: values.cursor, ...target },
      };
    }
    case "show":
    case "replay":
    case "discard":
      if (id === undefined) return fail(`${kind} needs a service and a dead letter id`);
      if (extra.length > 0) return fail(`${kind} takes a service and an id, got more`);
      if (!idPattern.test(id)) {
        return fail(`a dead letter id is a positive integer, got ${JSON.stringify(id)}`);
      }
      return { ok: true, command: { kind, service, id, ...target } };
  }
}
