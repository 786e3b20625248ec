#!/usr/bin/env node
// Runs the CLI on the Node version the repository pins (ADR 1), whichever `node` the shell found:
// Node 24 strips the CLI's TypeScript itself; an older system Node hands over to the pinned one.
import { spawn } from "node:child_process";
import module, { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const entry = fileURLToPath(new URL("../src/bin.ts", import.meta.url));
const major = Number(process.versions.node.split(".")[0]);

if (major >= 24) {
  // A start loads a few hundred TypeScript modules: Node keeps them stripped and compiled in its
  // on-disk cache (the OS temp directory, or NODE_COMPILE_CACHE), which halves a later load.
  // Quiet by design: a cache that cannot be used only costs that speed.
  module.enableCompileCache();
  await import(entry);
} else {
  const pinned = createRequire(import.meta.url).resolve("node/bin/node");
  const self = fileURLToPath(import.meta.url);
  const child = spawn(pinned, [self, ...process.argv.slice(2)], { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => child.kill(signal));
  }
  child.on("exit", (code, signal) => {
    process.exitCode = code ?? (signal ? 128 : 1);
  });
}
