/**
 * One readiness check: resolves when the dependency can serve; throws (or resolves `false`) when
 * it cannot. It must honour `signal`, which aborts when the check's timeout passes.
 */
export type ReadinessCheck = (signal: AbortSignal) => Promise<unknown>;

export type CheckStatus = "ok" | "unhealthy";

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Record<string, CheckStatus>;
}

/**
 * Runs every check in parallel, each bounded by `timeoutMs` (a check that hangs is unhealthy, and
 * the readiness endpoint still answers in time for the load balancer's own timeout).
 */
export async function runReadinessChecks(
  checks: Readonly<Record<string, ReadinessCheck>>,
  timeoutMs: number,
): Promise<ReadinessReport> {
  const entries = Object.entries(checks);
  const results = await Promise.all(entries.map(([, check]) => runOne(check, timeoutMs)));
  const out: Record<string, CheckStatus> = {};
  entries.forEach(([name], i) => (out[name] = results[i]!));
  return { ready: results.every((r) => r === "ok"), checks: out };
}

async function runOne(check: ReadinessCheck, timeoutMs: number): Promise<CheckStatus> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckStatus>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new DOMException("readiness check timed out", "TimeoutError"));
      resolve("unhealthy");
    }, timeoutMs);
    timer.unref();
  });
  const run = (async (): Promise<CheckStatus> => {
    try {
      return (await check(controller.signal)) === false ? "unhealthy" : "ok";
    } catch {
      return "unhealthy";
    }
  })();
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
