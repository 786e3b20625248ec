import type { Clock } from "@plexus/core";
import { vi } from "vitest";

/**
 * A clock that counts the timers armed through it, for tests of what a call costs (the other
 * calls pass through to `clock`).
 */
export function countingTimers(clock: Clock): {
  readonly clock: Clock;
  readonly armed: () => number;
} {
  let armed = 0;
  return {
    clock: {
      now: () => clock.now(),
      setTimeout: (callback, ms) => (armed++, clock.setTimeout(callback, ms)),
      clearTimeout: (handle) => clock.clearTimeout(handle),
    },
    armed: () => armed,
  };
}

/**
 * Counts the AbortControllers constructed from now on, by stubbing the global: undo it with
 * `vi.unstubAllGlobals()` (in an `afterEach`).
 */
export function countAbortControllers(): () => number {
  let controllers = 0;
  const Original = globalThis.AbortController;
  vi.stubGlobal(
    "AbortController",
    class extends Original {
      constructor() {
        super();
        controllers++;
      }
    },
  );
  return () => controllers;
}
