import type { Logger } from "@plexus/core";

/**
 * Runs one metrics or log hook. Hooks must not throw; one that does is logged and ignored, so a
 * broken metric never fails the publish or delivery it reports on.
 */
export function runHook(
  logger: Logger | undefined,
  owner: string,
  hook: string,
  call: () => void,
): void {
  try {
    call();
  } catch (error) {
    logger?.warn({ err: error, hook }, `${owner} hook threw`);
  }
}
