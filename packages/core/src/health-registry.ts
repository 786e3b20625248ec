import { systemClock, type Clock, type TimerHandle } from "./clock.ts";

/**
 * One health check. Resolving `false` or throwing means unhealthy; anything else (`true`,
 * `undefined`) means ok. The signal is aborted when the check's timeout passes: stop probing then.
 */
export type HealthCheck = (signal: AbortSignal) => Promise<boolean | void> | boolean | void;

/** The state of one check, as API.md's `/health/ready` body shows it. */
export type HealthStatus = "ok" | "unhealthy";

export interface HealthReport {
  /** True when every check is ok (and, for readiness, the process is not stopping). */
  readonly ok: boolean;
  /** Each check by name, in registration order. */
  readonly checks: Record<string, HealthStatus>;
}

export interface HealthCheckOptions {
  /** Bound of this check. Default: the registry's `checkTimeoutMs`. */
  timeoutMs?: number;
}

export interface HealthRegistryOptions {
  /**
   * Bound of each check. Default: 1000 ms. A probe that does not answer in time is as bad as a
   * failing one, and an orchestrator's probe (typically 1 s in Kubernetes) must get an answer.
   */
  checkTimeoutMs?: number;
  /** Time source of the check bounds. Default: the system clock. */
  clock?: Clock;
  /**
   * Aborted when the process starts stopping (a Lifecycle's `signal`). From then on readiness is
   * unhealthy, so load balancers take the instance out while it drains. Default: never stopping.
   */
  stopping?: AbortSignal;
}

/** The name readiness reports when it is unhealthy because the process is stopping. */
export const SHUTDOWN_CHECK = "shutdown";

/**
 * Named liveness and readiness checks of a host.
 *
 * Liveness answers "should this process be restarted?": it holds only checks of the process
 * itself (event loop responsive, no fatal internal state), never of dependencies. A database
 * outage must not make an orchestrator restart every replica at once: that is readiness' job.
 *
 * Readiness answers "may this instance receive traffic now?": dependencies (database, broker,
 * the services it routes to) belong here, and it is unhealthy while the process is stopping.
 */
export interface HealthRegistry {
  /** Adds a liveness check; by convention no dependency checks (see the interface's doc). */
  addLiveness(name: string, check: HealthCheck, options?: HealthCheckOptions): void;
  /** Adds a readiness check (dependencies go here). */
  addReadiness(name: string, check: HealthCheck, options?: HealthCheckOptions): void;
  /** Runs the liveness checks in parallel, each bounded by its timeout. */
  checkLive(signal?: AbortSignal): Promise<HealthReport>;
  /**
   * Runs the readiness checks in parallel, each bounded by its timeout. While stopping it runs
   * none (dependencies are being closed; probing them would only add noise) and reports
   * `{ ok: false, checks: { shutdown: "unhealthy" } }`.
   */
  checkReady(signal?: AbortSignal): Promise<HealthReport>;
}

interface RegisteredCheck {
  readonly name: string;
  readonly check: HealthCheck;
  readonly timeoutMs: number;
}

/**
 * Creates a health registry.
 *
 * @example
 * const health = createHealthRegistry({ stopping: lifecycle.signal });
 * health.addReadiness("db", async (signal) => { await db.query("SELECT 1"); });
 * const { ok, checks } = await health.checkReady();
 */
export function createHealthRegistry(options: HealthRegistryOptions = {}): HealthRegistry {
  const defaultTimeoutMs = options.checkTimeoutMs ?? 1000;
  const clock = options.clock ?? systemClock;
  const liveness: RegisteredCheck[] = [];
  const readiness: RegisteredCheck[] = [];

  function add(
    list: RegisteredCheck[],
    kind: string,
    name: string,
    check: HealthCheck,
    checkOptions: HealthCheckOptions | undefined,
  ): void {
    if (name === "" || list.some((c) => c.name === name)) {
      throw new TypeError(`${kind} check "${name}" is empty or already registered`);
    }
    if (kind === "readiness" && name === SHUTDOWN_CHECK) {
      throw new TypeError(`"${SHUTDOWN_CHECK}" is reserved for the stopping state`);
    }
    list.push({ name, check, timeoutMs: checkOptions?.timeoutMs ?? defaultTimeoutMs });
  }

  async function runOne(entry: RegisteredCheck, outer?: AbortSignal): Promise<HealthStatus> {
    if (outer?.aborted) return "unhealthy";
    const controller = new AbortController();
    let timer: TimerHandle = undefined;
    let onOuterAbort: (() => void) | undefined;
    // Settles "unhealthy" when the check's time is up or the caller gives up, whichever is first,
    // even if the check itself ignores its signal.
    const cutOff = new Promise<HealthStatus>((resolve) => {
      timer = clock.setTimeout(() => {
        controller.abort(new DOMException(`check "${entry.name}" timed out`, "TimeoutError"));
        resolve("unhealthy");
      }, entry.timeoutMs);
      onOuterAbort = () => {
        controller.abort(outer?.reason);
        resolve("unhealthy");
      };
      outer?.addEventListener("abort", onOuterAbort, { once: true });
    });
    const ran = (async (): Promise<HealthStatus> => {
      try {
        return (await entry.check(controller.signal)) === false ? "unhealthy" : "ok";
      } catch {
        return "unhealthy";
      }
    })();
    try {
      return await Promise.race([ran, cutOff]);
    } finally {
      clock.clearTimeout(timer);
      if (onOuterAbort) outer?.removeEventListener("abort", onOuterAbort);
    }
  }

  async function runAll(list: RegisteredCheck[], signal?: AbortSignal): Promise<HealthReport> {
    const results = await Promise.all(list.map((entry) => runOne(entry, signal)));
    const checks: Record<string, HealthStatus> = {};
    list.forEach((entry, i) => {
      checks[entry.name] = results[i] ?? "unhealthy";
    });
    return { ok: results.every((r) => r === "ok"), checks };
  }

  return {
    addLiveness(name, check, checkOptions) {
      add(liveness, "liveness", name, check, checkOptions);
    },
    addReadiness(name, check, checkOptions) {
      add(readiness, "readiness", name, check, checkOptions);
    },
    checkLive(signal) {
      return runAll(liveness, signal);
    },
    async checkReady(signal) {
      if (options.stopping?.aborted) {
        return { ok: false, checks: { [SHUTDOWN_CHECK]: "unhealthy" } };
      }
      return runAll(readiness, signal);
    },
  };
}
