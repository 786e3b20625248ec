/**
 * `npm run bench -- <suite> [--quick]`: runs `bench/suites/<suite>.ts` with the shared harness,
 * writes `bench/results/<suite>.json` and prints that JSON as its last line.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fullSettings, quickSettings, runSuite, type Suite } from "./harness.ts";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const name = args.find((arg) => !arg.startsWith("--"));
if (name === undefined || !/^[a-z0-9-]+$/.test(name)) {
  console.error("usage: npm run bench -- <suite> [--quick]");
  process.exit(2);
}

const module = (await import(join(here, "suites", `${name}.ts`))) as {
  createSuite(options: { quick: boolean }): Suite | Promise<Suite>;
};
const suite = await module.createSuite({ quick });
const report = await runSuite(suite, quick ? quickSettings : fullSettings, (line) =>
  console.log(line),
);
for (const result of report.results) {
  console.log(
    `${result.name.padEnd(24)} ${String(result.opsPerSec).padStart(12)} ops/s  ` +
      `p50 ${result.p50Ms} ms  p99 ${result.p99Ms} ms  ratio ${result.ratio}`,
  );
}
const file = join(here, "results", `${name}.json`);
await mkdir(dirname(file), { recursive: true });
const json = JSON.stringify(report);
await writeFile(file, JSON.stringify(report, null, 2) + "\n");
console.log(json);
