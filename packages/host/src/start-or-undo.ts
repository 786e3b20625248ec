import { createLifecycle, type Lifecycle, type LifecycleOptions } from "@plexus/core";

/**
 * Runs `start` with a new lifecycle whose exit is held back until `start` succeeds. If it fails,
 * the stop steps registered so far run (closing servers, pools and the data-directory lock) without
 * ending the process, and the failure is rethrown for the caller to report: a host that cannot
 * start leaves nothing behind, so `plexus up` exits on its own and a test can start another.
 */
export async function startOrUndo<T>(
  options: LifecycleOptions,
  start: (lifecycle: Lifecycle) => Promise<T>,
): Promise<T> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let started = false;
  const lifecycle = createLifecycle({
    ...options,
    exit: (code) => {
      if (started) exit(code);
    },
  });
  try {
    const value = await start(lifecycle);
    started = true;
    return value;
  } catch (error) {
    await lifecycle.stop("start-up failed");
    throw error;
  }
}
