import { StartupError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { CommandFailure, reportFailure } from "./report-failure.ts";

function report(error: unknown): { code: number; written: string } {
  let written = "";
  const code = reportFailure(error, "cannot start", {
    write: (chunk: string) => {
      written += chunk;
      return true;
    },
  });
  return { code, written };
}

describe("reportFailure", () => {
  it("prints a StartupError as one line, problem then fix, and returns 1", () => {
    expect(report(new StartupError("port 8080 is in use", "set PORT to a free port"))).toEqual({
      code: 1,
      written: "plexus: port 8080 is in use: set PORT to a free port\n",
    });
  });

  it("prints a CommandFailure the same way, on one line even if the host's text had several", () => {
    expect(report(new CommandFailure("no dead letter 7\n(gone)", "list them"))).toEqual({
      code: 1,
      written: "plexus: no dead letter 7 (gone): list them\n",
    });
  });

  it("prints anything else as one line too, without its stack, pointing at the debug log", () => {
    const { code, written } = report(new TypeError("bad\n  things happened"));
    expect(code).toBe(1);
    expect(written).toBe(
      "plexus: cannot start: bad things happened (PLEXUS_LOG_LEVEL=debug logs the stack)\n",
    );
  });
});
