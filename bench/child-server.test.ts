import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChildServer } from "./child-server.ts";

let dir: string;
const script = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "plexus-bench-child-"));
  await writeFile(
    script("ready.mjs"),
    `console.log(JSON.stringify({ url: "http://x", arg: process.argv[2], env: process.env.BENCH_X }));
     setInterval(() => {}, 1000);`,
  );
  await writeFile(script("exits.mjs"), `process.exit(3);`);
  await writeFile(script("garbage.mjs"), `console.log("listening"); setInterval(() => {}, 1000);`);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("startChildServer", () => {
  it("resolves with the server's ready line, passing args and env, and stops it", async () => {
    const server = await startChildServer<{ url: string; arg: string; env: string }>({
      name: "ready",
      script: script("ready.mjs"),
      args: ["a1"],
      env: { BENCH_X: "x1" },
    });
    expect(server.ready).toEqual({ url: "http://x", arg: "a1", env: "x1" });
    await server.stop();
    expect(server.child.signalCode).toBe("SIGTERM");
  });

  it("rejects, naming the server, when it exits before it is ready", async () => {
    await expect(startChildServer({ name: "early", script: script("exits.mjs") })).rejects.toThrow(
      "early server exited (3)",
    );
  });

  it("rejects and kills a server whose first line is not JSON", async () => {
    await expect(
      startChildServer({ name: "chatty", script: script("garbage.mjs") }),
    ).rejects.toThrow('chatty server printed "listening", not its JSON ready line');
  });
});
