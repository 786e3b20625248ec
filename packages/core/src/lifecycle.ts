import { systemClock, type Clock, type TimerHandle } from "./clock.ts";
import type { Logger } from "./logger.ts";

/** One stop step. It receives a signal aborted when its time is up, so it can give up early. */
export type StopStep = (signal: AbortSignal) => Promise<void> | void;

export interface StopStepOptions {
  /**
   * Bound of this step alone. Default: whatever is left of `shutdownTimeoutMs`. A step with its
   * own bound that overruns it is logged as hung and the remaining steps still run (a stuck
   * consumer should not keep the database pool open); the process then exits 1.
   */
  timeoutMs?: number;
}

export interface LifecycleOptions {
  /** Where each shutdown step is logged. Required: a silent shutdown cannot be diagnosed. */
  logger: Logger;
  /**
   * Bound of the whole shutdown, all steps together. Default: 10 000 ms, below the 30 s most
   * orchestrators (Kubernetes' `terminationGracePeriodSeconds`) wait before SIGKILL, so the
   * process can still log which step hung and exit on its own. Past it: log the hung step, exit 1.
   */
  shutdownTimeoutMs?: number;
  /**
   * How the process ends. Default: `process.exit`. Tests inject a recorder; an embedding that must
   * not end the process (a host inside a test) passes a no-op.
   */
  exit?: (code: number) => void;
  /** Time source of the step and shutdown bounds. Default: the system clock. */
  clock?: Clock;
  /** Signals that trigger a graceful stop. Default: `SIGTERM` (orchestrators) and `SIGINT` (Ctrl-C). */
  signals?: readonly NodeJS.Signals[];
}

/**
 * The process lifecycle of a host: ordered, bounded, logged graceful shutdown.
 *
 * - `onStop` steps run in reverse registration order (last started, first stopped: a server
 *   registered after the pool it uses is closed before it), one at a time, each awaited.
 * - `stop()` is idempotent: every call returns the same promise.
 * - After `installSignalHandlers()`, the first signal starts a graceful stop; a second signal
 *   while stopping forces an immediate exit with code 1 (the operator insists, e.g. Ctrl-C twice).
 * - Exit code: 0 when every step finished in time without throwing, 1 otherwise.
 */
export interface Lifecycle {
  /** Aborted when stop begins: servers stop accepting and readiness turns 503 during the drain. */
  readonly signal: AbortSignal;
  /** Whether stop has begun. */
  readonly stopping: boolean;
  /** Registers a stop step. Registering once stopping has begun is an error (it would never run). */
  onStop(name: string, fn: StopStep, options?: StopStepOptions): void;
  /**
   * Makes the configured signals trigger `stop()`; a second signal while stopping exits 1 at once.
   * Returns a function that removes the handlers.
   */
  installSignalHandlers(): () => void;
  /**
   * Stops gracefully: aborts `signal`, runs the steps, then exits. Resolves with the exit code
   * once `exit` has been called (which, with the default `process.exit`, is never observed).
   */
  stop(reason?: string): Promise<number>;
}

interface RegisteredStep {
  readonly name: string;
  readonly fn: StopStep;
  readonly timeoutMs: number | undefined;
}

type StepOutcome = "ok" | "failed" | "timeout" | "shutdown-timeout";

/**
 * Creates the lifecycle of a host process.
 *
 * @example
 * const lifecycle = createLifecycle({ logger });
 * const server = http.createServer(handler).listen(8080);
 * lifecycle.onStop("http", () => closeServer(server));
 * lifecycle.installSignalHandlers();
 */
export function createLifecycle(options: LifecycleOptions): Lifecycle {
  const logger = options.logger;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const clock = options.clock ?? systemClock;
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];

  const steps: RegisteredStep[] = [];
  const controller = new AbortController();
  let stopped: Promise<number> | undefined;
  let exited = false;

  function exitOnce(code: number): void {
    if (exited) return;
    exited = true;
    exit(code);
  }

  async function runStep(step: RegisteredStep, deadline: number): Promise<StepOutcome> {
    const left = deadline - clock.now();
    const ownBound = step.timeoutMs !== undefined && step.timeoutMs < left;
    const boundMs = Math.max(0, ownBound ? (step.timeoutMs ?? left) : left);
    const stepController = new AbortController();
    let timer: TimerHandle = undefined;
    const timedOut = new Promise<StepOutcome>((resolve) => {
      timer = clock.setTimeout(() => {
        stepController.abort(
          new DOMException(`stop step "${step.name}" timed out`, "TimeoutError"),
        );
        resolve(ownBound ? "timeout" : "shutdown-timeout");
      }, boundMs);
      // The shutdown bound must fire even when nothing else is pending: a hung step with an empty
      // event loop would otherwise let the process drain and exit 0, hiding the hang.
      (timer as { ref?: () => void } | undefined)?.ref?.();
    });
    const started = clock.now();
    logger.info({ step: step.name }, "stopping");
    const ran = (async (): Promise<StepOutcome> => {
      try {
        await step.fn(stepController.signal);
        return "ok";
      } catch (err) {
        if (stepController.signal.aborted) return "timeout";
        logger.error({ step: step.name, err }, "stop step failed");
        return "failed";
      }
    })();
    try {
      const outcome = await Promise.race([ran, timedOut]);
      if (outcome === "ok") {
        logger.info({ step: step.name, durationMs: clock.now() - started }, "stopped");
      } else if (outcome === "timeout" || outcome === "shutdown-timeout") {
        logger.error(
          { step: step.name, timeoutMs: boundMs },
          outcome === "timeout"
            ? "stop step hung past its own timeout"
            : "shutdown timed out: stop step hung",
        );
      }
      return outcome;
    } finally {
      clock.clearTimeout(timer);
    }
  }

  async function shutdown(reason: string): Promise<number> {
    try {
      logger.info({ reason, steps: steps.length, shutdownTimeoutMs }, "shutting down");
      controller.abort(new DOMException(`stopping: ${reason}`, "AbortError"));
      const deadline = clock.now() + shutdownTimeoutMs;
      let code = 0;
      for (const step of [...steps].reverse()) {
        const outcome = await runStep(step, deadline);
        if (outcome !== "ok") code = 1;
        if (outcome === "shutdown-timeout") break;
        if (exited) return 1;
      }
      logger.info({ code }, code === 0 ? "shutdown complete" : "shutdown finished with errors");
      exitOnce(code);
      return code;
    } catch (err) {
      // Only a broken logger or abort listener gets here; the process must still end.
      exitOnce(1);
      throw err;
    }
  }

  function stop(reason = "stop requested"): Promise<number> {
    stopped ??= shutdown(reason);
    return stopped;
  }

  return {
    signal: controller.signal,
    get stopping() {
      return controller.signal.aborted;
    },
    onStop(name, fn, stepOptions) {
      if (controller.signal.aborted) {
        throw new Error(`cannot register stop step "${name}": the lifecycle is already stopping`);
      }
      steps.push({ name, fn, timeoutMs: stepOptions?.timeoutMs });
    },
    installSignalHandlers() {
      const onSignal = (signal: NodeJS.Signals): void => {
        if (stopped !== undefined) {
          logger.warn({ signal }, "second signal during shutdown: forcing exit");
          exitOnce(1);
          return;
        }
        logger.info({ signal }, "signal received");
        stop(signal).catch((err: unknown) => logger.error({ err }, "shutdown failed"));
      };
      for (const s of signals) process.on(s, onSignal);
      return () => {
        for (const s of signals) process.off(s, onSignal);
      };
    },
    stop,
  };
}
