import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defaultLimit, parseDlqArgs } from "./dlq-args.ts";

/** A word an operator might type as a service name: never taken for an option. */
const service = fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/);
const id = fc.bigInt({ min: 0n, max: 9_999_999_999_999_999_999n }).map(String);
const oneKinds = fc.constantFrom("show", "replay", "discard");
const flags = fc.record({ json: fc.boolean(), url: fc.option(fc.webUrl(), { nil: undefined }) });

/** Options in any order among the positionals: parseArgs takes them anywhere. */
function interleave(positionals: string[], options: string[][], at: number[]): string[] {
  const units = positionals.map((p) => [p]);
  options.forEach((option, i) => units.splice(at[i]! % (units.length + 1), 0, option));
  return units.flat();
}

function optionArgs(f: { json: boolean; url: string | undefined }, extra: string[][] = []) {
  return [...(f.json ? [["--json"]] : []), ...(f.url ? [["--url", f.url]] : []), ...extra];
}

describe("parseDlqArgs", () => {
  it("never throws: any command line is a command or a problem on one line", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.constantFrom("--limit", "list", "-h"))),
        (argv) => {
          const parsed = parseDlqArgs(argv);
          if (!parsed.ok) expect(parsed.problem).toMatch(/^[^\n]+$/);
        },
      ),
    );
  });

  it("reads list with its limit, cursor and options in any order", () => {
    fc.assert(
      fc.property(
        service,
        fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
        fc.option(id, { nil: undefined }),
        flags,
        fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
        (name, limit, cursor, f, at) => {
          const extra = [
            ...(limit === undefined ? [] : [["--limit", String(limit)]]),
            ...(cursor === undefined ? [] : [[`--cursor=${cursor}`]]),
          ];
          const argv = interleave(["list", name], optionArgs(f, extra), at);
          expect(parseDlqArgs(argv)).toEqual({
            ok: true,
            command: {
              kind: "list",
              service: name,
              limit: limit ?? defaultLimit,
              cursor,
              json: f.json,
              url: f.url === undefined ? undefined : new URL(f.url),
            },
          });
        },
      ),
    );
  });

  it("reads show, replay and discard with a service and an id", () => {
    fc.assert(
      fc.property(
        oneKinds,
        service,
        id,
        flags,
        fc.array(fc.nat(), { minLength: 2, maxLength: 2 }),
        (kind, name, n, f, at) => {
          const argv = interleave([kind, name, n], optionArgs(f), at);
          expect(parseDlqArgs(argv)).toEqual({
            ok: true,
            command: {
              kind,
              service: name,
              id: n,
              json: f.json,
              url: f.url === undefined ? undefined : new URL(f.url),
            },
          });
        },
      ),
    );
  });

  it("refuses an id or a cursor that is not a dead letter id", () => {
    const notAnId = fc
      .string({ minLength: 1 })
      .filter((s) => !/^[0-9]{1,19}$/.test(s) && !s.startsWith("-"));
    fc.assert(
      fc.property(oneKinds, service, notAnId, (kind, name, bad) => {
        expect(parseDlqArgs([kind, name, bad])).toMatchObject({ ok: false });
        expect(parseDlqArgs(["list", name, `--cursor=${bad}`])).toMatchObject({ ok: false });
      }),
    );
  });

  it("refuses a limit that is not an integer from 1 to 1000", () => {
    const badLimit = fc.oneof(
      fc.integer({ min: 1001 }).map(String),
      fc.integer({ max: 0 }).map(String),
      fc.string().filter((s) => !/^[0-9]+$/.test(s)),
      fc.constantFrom("1.5", "1e3", " 5", "0x10", "00001"),
    );
    fc.assert(
      fc.property(service, badLimit, (name, limit) => {
        expect(parseDlqArgs(["list", name, `--limit=${limit}`])).toMatchObject({
          ok: false,
          problem: expect.stringMatching(/--limit/),
        });
      }),
    );
  });

  it("refuses missing, extra or misplaced arguments, and unknown subcommands or options", () => {
    for (const [argv, problem] of [
      [[], /missing a subcommand/],
      [["list"], /list needs a service/],
      [["list", ""], /list needs a service/],
      [["list", "orders", "7"], /list takes one service/],
      [["show", "orders"], /show needs a service and a dead letter id/],
      [["replay", "orders", "1", "2"], /replay takes a service and an id/],
      [["discard", "orders", "1", "--limit", "5"], /--limit and --cursor apply to list only/],
      [["retry", "orders", "1"], /unknown subcommand "retry"/],
      [["list", "orders", "--force"], /Unknown option '--force'/],
      [["list", "orders", "--limit"], /--limit/],
      [["list", "orders", "--url", "ftp://host"], /--url must be an http\(s\) URL/],
      [["list", "orders", "--url", "not a url"], /--url must be an http\(s\) URL/],
    ] as const) {
      expect(parseDlqArgs(argv)).toEqual({ ok: false, problem: expect.stringMatching(problem) });
    }
  });

  it("asks for help with --help, -h or help, whatever else is on the line", () => {
    for (const argv of [["--help"], ["-h"], ["help"], ["list", "orders", "--help"], ["x", "-h"]]) {
      expect(parseDlqArgs(argv)).toEqual({ ok: true, command: { kind: "help" } });
    }
  });
});
