import { createLogger } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { startOrUndo } from "./start-or-undo.ts";

const logger = createLogger({ name: "start-or-undo-test", level: "silent" });

describe("startOrUndo", () => {
  it("on failure runs the steps registered so far, in reverse, without exiting, and rethrows", async () => {
    const ran: string[] = [];
    const exits: number[] = [];
    const failure = new Error("port in use");
    await expect(
      startOrUndo({ logger, exit: (code) => exits.push(code) }, async (lifecycle) => {
        lifecycle.onStop("storage", () => void ran.push("storage"));
        lifecycle.onStop("consumers", () => void ran.push("consumers"));
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(ran).toEqual(["consumers", "storage"]);
    expect(exits).toEqual([]);
  });

  it("once started, a stop exits as the lifecycle says", async () => {
    const exits: number[] = [];
    const lifecycle = await startOrUndo(
      { logger, exit: (code) => exits.push(code) },
      async (l) => l,
    );
    await lifecycle.stop();
    expect(exits).toEqual([0]);
  });
});
