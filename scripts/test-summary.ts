import { readFileSync } from "node:fs";

/**
 * Prints vitest's totals as one plain closing line (`tests: N passed, N failed, N skipped`), the
 * form CI reads whatever the runner; the exit code stays vitest's.
 */
interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
}

const [file = ".tmp/vitest-report.json"] = process.argv.slice(2);
try {
  const report = JSON.parse(readFileSync(file, "utf8")) as Report;
  const skipped = report.numPendingTests + report.numTodoTests;
  process.stdout.write(
    `tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped\n`,
  );
} catch (error) {
  process.stderr.write(`test-summary: no vitest report at ${file} (${String(error)})\n`);
}
